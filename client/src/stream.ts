// The client's one stream to the server, shared by every watch (and, on etcdo, every lease
// keepalive) of a Transport: etcdo's multiplexed WebSocket /v3/etcdo/stream, or against a
// real etcd the gateway's /v3/watch WebSocket, or its HTTP stream where there is no
// WebSocket. It reconnects with backoff over the endpoints and tells its users (the watch
// registry) when a link opens or closes; they resend what they need. docs/watch.md.

import { EtcdError, GrpcCode } from "./errors.ts";
import { lines } from "./lines.ts";
import type { Transport } from "./transport.ts";

export type LinkKind = "mux" | "ws" | "http";
export type StreamState = "idle" | "connecting" | "open" | "backoff" | "closed";

/** A message from the server, unwrapped from its transport's framing. */
export type StreamMessage =
  | { t: "watch"; r: RawWatchResponse }
  | { t: "keepalive"; r: { header?: unknown; ID?: string; TTL?: string } }
  | { t: "error"; code: number; message: string; ref?: string };

export interface RawWatchResponse {
  header?: { cluster_id?: string; member_id?: string; revision?: string; raft_term?: string };
  watch_id?: string;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  fragment?: boolean;
  events?: { type?: string; kv?: Record<string, string>; prev_kv?: Record<string, string> }[];
}

/** What uses the stream: told when a link is up (send everything again) and of each message. */
export interface StreamUser {
  onOpen(kind: LinkKind): void;
  onMessage(m: StreamMessage): void;
  onDown(err: EtcdError): void;
}

interface Link {
  readonly kind: LinkKind;
  send(frame: unknown): void;
  close(): void;
}

interface LinkEvents {
  open(): void;
  message(m: StreamMessage | "pong"): void;
  closed(err: EtcdError): void;
}

const wsUrl = (ep: string, path: string) => ep.replace(/^http/i, "ws") + path;
const down = (msg: string, cause?: unknown) => new EtcdError(msg, { code: GrpcCode.Unavailable, cause });

function parseFrame(kind: LinkKind, text: string): StreamMessage | "pong" | undefined {
  if (text === "pong") return "pong";
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (kind === "mux") {
    if (m.watch) return { t: "watch", r: m.watch as RawWatchResponse };
    if (m.keepalive) return { t: "keepalive", r: m.keepalive as { ID?: string; TTL?: string } };
  } else if (m.result) return { t: "watch", r: m.result as RawWatchResponse };
  const e = m.error as { code?: number; grpc_code?: number; message?: string; ref?: string } | string | undefined;
  if (e !== undefined) {
    if (typeof e === "string") return { t: "error", code: (m.code as number | undefined) ?? GrpcCode.Unknown, message: (m.message as string | undefined) ?? e };
    return { t: "error", code: e.grpc_code ?? e.code ?? GrpcCode.Unknown, message: e.message ?? "stream error", ref: e.ref };
  }
  return undefined;
}

function openWebSocket(
  factory: (url: string, protocols?: string | string[]) => WebSocket,
  url: string,
  kind: LinkKind,
  token: string | undefined,
  ev: LinkEvents,
): Link {
  const ws = token ? factory(url, ["Bearer", token]) : factory(url);
  const dec = new TextDecoder();
  let ended = false;
  const end = (err: EtcdError) => {
    if (ended) return;
    ended = true;
    ev.closed(err);
  };
  // etcd's gateway upgrades any path and only then finds none: a mux socket is open when its
  // first ping has been answered with a pong.
  let up = false;
  // Listeners rather than on* handlers: workerd's WebSocket has only addEventListener.
  ws.addEventListener("open", () => {
    if (kind === "mux") ws.send("ping");
    else {
      up = true;
      ev.open();
    }
  });
  ws.addEventListener("message", (e: MessageEvent) => {
    const text = typeof e.data === "string" ? e.data : dec.decode(e.data as ArrayBuffer);
    const m = parseFrame(kind, text);
    if (!up) {
      if (m !== "pong") return;
      up = true;
      ev.open();
      return;
    }
    if (m) ev.message(m);
  });
  ws.addEventListener("error", () => end(down(`websocket ${url} failed`)));
  ws.addEventListener("close", (e: CloseEvent) => end(down(`websocket ${url} closed (${e.code}${e.reason ? ` ${e.reason}` : ""})`)));
  return {
    kind,
    send: (frame) => {
      if (ws.readyState === 1) ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
    },
    close: () => {
      ended = true;
      try {
        ws.close();
      } catch {
        // already closing
      }
    },
  };
}

/**
 * The gateway's HTTP stream, one POST per watch (etcd's gateway answers only once the request
 * body has ended, so nothing can be sent on a stream later): a create opens a stream, a cancel
 * aborts it. Any stream failing closes them all, and the hub reconnects as for a socket.
 */
function openHttp(t: Transport, ep: string, ev: LinkEvents): Link {
  const streams = new Map<string, AbortController>();
  let ended = false;
  const end = (err: EtcdError) => {
    if (ended) return;
    ended = true;
    for (const a of streams.values()) a.abort();
    ev.closed(err);
  };
  const start = (id: string, frame: unknown) => {
    const abort = new AbortController();
    streams.set(id, abort);
    void (async () => {
      try {
        const res = await t.rawFetch(`${ep}/v3/watch`, {
          method: "POST",
          body: JSON.stringify(frame),
          signal: abort.signal,
          headers: { "content-type": "application/json" },
        });
        if (!res.ok || !res.body) throw down(`watch stream ${ep}: HTTP ${res.status}`);
        for await (const raw of lines(res.body)) {
          const line = raw.trim();
          const m = line ? parseFrame("http", line) : undefined;
          if (m && !ended && !abort.signal.aborted) ev.message(m);
        }
        if (!abort.signal.aborted) end(down(`watch stream ${ep} ended`));
      } catch (e) {
        if (!abort.signal.aborted) end(e instanceof EtcdError ? e : down(`watch stream ${ep} failed`, e));
      }
    })();
  };
  queueMicrotask(() => !ended && ev.open());
  return {
    kind: "http",
    send: (frame) => {
      if (ended) return;
      const f = frame as { create_request?: { watch_id?: string }; cancel_request?: { watch_id?: string } };
      if (f.create_request) start(f.create_request.watch_id ?? "0", frame);
      else if (f.cancel_request) {
        const id = f.cancel_request.watch_id ?? "0";
        streams.get(id)?.abort();
        streams.delete(id);
        queueMicrotask(() => !ended && ev.message({ t: "watch", r: { watch_id: id, canceled: true } }));
      }
      // A progress request cannot be sent on a stream whose body has ended.
    },
    close: () => {
      ended = true;
      for (const a of streams.values()) a.abort();
    },
  };
}

export interface StreamHubOptions {
  /** First reconnect delay and the cap, in ms (doubling, with jitter). */
  backoff?: { initial?: number; max?: number };
  /** Mux sockets send "ping" this often and reconnect when nothing came back for twice as long. */
  pingInterval?: number;
}

/** The shared stream of one Transport. */
export class StreamHub {
  private readonly t: Transport;
  private readonly users = new Set<StreamUser>();
  private link: Link | undefined;
  private open = false;
  private stateValue: StreamState = "idle";
  private attempts = 0;
  private endpointIndex = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pinger: ReturnType<typeof setInterval> | undefined;
  private lastHeard = 0;
  /** Kinds to try, in order; narrowed to the kind that worked once one has. */
  private kinds: LinkKind[];
  private kindIndex = 0;
  private readonly listeners = new Set<(s: StreamState, kind: LinkKind | undefined) => void>();
  readonly backoffInitial: number;
  readonly backoffMax: number;
  readonly pingInterval: number;
  /** Reconnects so far (for tests and status displays). */
  reconnects = 0;

  constructor(t: Transport, o: StreamHubOptions = {}) {
    this.t = t;
    this.backoffInitial = o.backoff?.initial ?? 100;
    this.backoffMax = o.backoff?.max ?? 5000;
    this.pingInterval = o.pingInterval ?? 20_000;
    const mode = t.options.streamMode ?? "auto";
    const hasWs = this.factory() !== undefined;
    this.kinds = mode === "auto" ? (hasWs ? ["mux", "ws"] : ["http"]) : [mode];
  }

  get state(): StreamState {
    return this.stateValue;
  }

  /** The kind of the link that is open now (undefined when none is). */
  get kind(): LinkKind | undefined {
    return this.open ? this.link?.kind : undefined;
  }

  onState(cb: (s: StreamState, kind: LinkKind | undefined) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private setState(s: StreamState): void {
    this.stateValue = s;
    for (const cb of this.listeners) cb(s, this.kind);
  }

  private factory(): ((url: string, protocols?: string | string[]) => WebSocket) | undefined {
    const o = this.t.options.webSocket;
    if (o === null) return undefined;
    if (o) return o;
    const G = (globalThis as { WebSocket?: typeof WebSocket }).WebSocket;
    return G ? (url, protocols) => new G(url, protocols) : undefined;
  }

  /** Adds a user; connects if this is the first. */
  attach(u: StreamUser): void {
    this.users.add(u);
    if (this.open && this.link) u.onOpen(this.link.kind);
    else if (this.stateValue === "idle" || this.stateValue === "closed") this.connect();
  }

  /** Removes a user; the stream closes when none is left. */
  detach(u: StreamUser): void {
    this.users.delete(u);
    if (this.users.size === 0) this.close();
  }

  /** Sends when a link is open; false when it is not (the user resends on its next onOpen). */
  send(frame: unknown): boolean {
    if (!this.open || !this.link) return false;
    this.link.send(frame);
    return true;
  }

  /** Drops the current link and reconnects at once (tests, or a caller that knows it is stale). */
  reconnect(): void {
    if (this.link) this.linkClosed(this.link, down("reconnect requested"), true);
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.pinger !== undefined) clearInterval(this.pinger);
    const l = this.link;
    this.link = undefined;
    this.open = false;
    l?.close();
    this.setState("closed");
  }

  private connect(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.users.size === 0) return;
    this.setState("connecting");
    const eps = this.t.endpoints;
    const ep = eps[this.endpointIndex % eps.length]!;
    const kind = this.kinds[this.kindIndex]!;
    let link!: Link;
    const ev: LinkEvents = {
      open: () => {
        if (this.link !== link) return;
        this.open = true;
        this.lastHeard = Date.now();
        // The kind that worked is the one used from now on.
        this.kinds = [kind];
        this.kindIndex = 0;
        this.setState("open");
        if (kind === "mux") this.startPing(link);
        for (const u of [...this.users]) u.onOpen(kind);
      },
      message: (m) => {
        if (this.link !== link) return;
        this.lastHeard = Date.now();
        this.attempts = 0;
        if (m !== "pong") for (const u of [...this.users]) u.onMessage(m);
      },
      closed: (err) => this.linkClosed(link, err, false),
    };
    if (kind === "http") {
      link = openHttp(this.t, ep, ev);
      this.link = link;
      return;
    }
    this.link = undefined;
    void this.t.currentToken().then(
      (token) => {
        if (this.stateValue !== "connecting" || this.link) return;
        const path = kind === "mux" ? "/v3/etcdo/stream" : "/v3/watch";
        link = openWebSocket(this.factory()!, wsUrl(ep, path), kind, token, ev);
        this.link = link;
      },
      (e: unknown) => this.linkClosed(undefined, down("no token for the stream", e), false),
    );
  }

  private startPing(link: Link): void {
    if (this.pinger !== undefined) clearInterval(this.pinger);
    this.pinger = setInterval(() => {
      if (this.link !== link) return;
      if (Date.now() - this.lastHeard > 2 * this.pingInterval) this.linkClosed(link, down("stream silent: no pong"), false);
      else link.send("ping");
    }, this.pingInterval);
    (this.pinger as { unref?: () => void }).unref?.();
  }

  private linkClosed(link: Link | undefined, err: EtcdError, now: boolean): void {
    if (link !== undefined && this.link !== link) return;
    const wasOpen = this.open;
    this.link = undefined;
    this.open = false;
    if (this.pinger !== undefined) clearInterval(this.pinger);
    link?.close();
    if (this.stateValue === "closed") return;
    for (const u of [...this.users]) u.onDown(err);
    if (!wasOpen && this.kindIndex + 1 < this.kinds.length) {
      // Never opened: try the next kind on the same endpoint at once (etcd has no mux socket).
      this.kindIndex++;
      this.connect();
      return;
    }
    this.kindIndex = 0;
    if (!wasOpen || this.t.endpoints.length > 1) this.endpointIndex++;
    if (wasOpen) this.reconnects++;
    const base = Math.min(this.backoffMax, this.backoffInitial * 2 ** this.attempts);
    this.attempts = Math.min(this.attempts + 1, 20);
    const delay = now ? 0 : Math.round(base * (0.5 + Math.random() / 2));
    this.setState("backoff");
    this.timer = setTimeout(() => this.connect(), delay);
  }
}

const hubs = new WeakMap<Transport, StreamHub>();

/** The one stream hub of a transport. */
export function hubFor(t: Transport): StreamHub {
  let h = hubs.get(t);
  if (!h) {
    h = new StreamHub(t);
    hubs.set(t, h);
  }
  return h;
}

/** Closes a transport's stream hub if it has one. */
export function closeHub(t: Transport): void {
  hubs.get(t)?.close();
  hubs.delete(t);
}
