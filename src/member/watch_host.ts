// Watch on the member Durable Object: the watch hub fed by this member's apply path, and
// the transports that carry its streams.
//
// - POST /v3/watch: etcd's gateway over plain HTTP. The body is a stream of JSON requests
//   (read as it arrives); the answer streams `{"result":…}\n` lines until the client goes.
// - /v3/watch as a WebSocket: etcd's gateway WebSocket mode. Frames carry JSON requests
//   (several per frame, or one split over frames, as the gateway's byte stream allows);
//   every response is one `{"result":…}` frame. A bad frame is answered with an error frame
//   and changes nothing else (etcd would stop reading the socket).
// - /v3/etcdo/stream: the multiplexed WebSocket for browsers, watch and lease keepalive on
//   one socket (framing in docs/watch.md).
//
// Sockets are accepted with the hibernation API: an idle socket costs nothing, and when the
// object wakes, every socket's watchers are restored from its attachment and resume at the
// revision they had reached.
import type { UnaryResult } from "./rpc.ts";
import { decodeWatchStream, encodeWatchResponseMessage, encodeWatchResult, watchResponseSizer, type HeaderFields } from "../gateway/codec/watch.ts";
import { encodeLeaseKeepAliveResponse } from "../gateway/codec/responses.ts";
import { errorBody, httpStatusOf } from "../gateway/http_errors.ts";
import type { LeaseKeepAliveResponse } from "../server/types.ts";
import { fragmentResponse } from "../server/watch/fragment.ts";
import { WatchHub, type WatchSource } from "../server/watch/hub.ts";
import type { QueuedResponse, WatchStream } from "../server/watch/stream.ts";
import type { WatchLimits, WatchRequest } from "../server/watch/types.ts";
import {
  ATTACHMENT_BUDGET_BYTES,
  emptySocketState,
  isSocketState,
  stateSizeBytes,
  toSaved,
  type SocketKind,
  type SocketState,
} from "./watch_attachment.ts";
import { decodeMuxFrame, encodeMuxError, MUX_PING, MUX_PONG } from "./watch_mux.ts";

export const WATCH_PATHS = ["/v3/watch", "/v3beta/watch"];
export const MUX_PATH = "/v3/etcdo/stream";

/** etcd fragments responses at --max-request-bytes + the gRPC overhead (2 MiB by default). */
const FRAGMENT_LIMIT_BYTES = 1.5 * 1024 * 1024 + 512 * 1024;

export interface WatchHostOptions {
  source: WatchSource;
  header(): HeaderFields;
  /** Lease keepalive for the multiplexed socket (the member's LeaseKeepAlive). */
  keepAlive(id: bigint): Promise<UnaryResult>;
  limits?: Partial<WatchLimits>;
  /** Sockets this member accepts (default 10,000; the platform's limit is 32,768). */
  maxSockets?: number;
  /** Largest frame accepted (default 2 MiB, etcd's gRPC receive limit). */
  maxFrameBytes?: number;
  /** etcd's progress notify interval (default 10 minutes); 0 disables the timer. */
  progressIntervalMs?: number;
  /**
   * Schedules the next progress interval on the member's timers (one alarm for everything)
   * instead of a setTimeout, which would keep the object from hibernating. The member calls
   * onProgressTimer() when it is due.
   */
  scheduleProgress?: (dueMs: number) => void;
}

interface HttpConn {
  kind: "http";
  stream: WatchStream;
  wake: (() => void) | null;
}

interface SocketConn {
  kind: SocketKind;
  stream: WatchStream;
  ws: WebSocket;
  state: SocketState;
  /**
   * What the attachment was last written from (the stream's savedStateVersion, the unfinished
   * frame, the id counter): flushing after every apply rewrites only changed attachments.
   */
  saved: { version: number; rest: string; nextId: number } | null;
}

type Conn = HttpConn | SocketConn;

const TAG = { gateway: "watch-gw", mux: "watch-mux" } as const;
const encoder = new TextEncoder();

export class WatchHost {
  readonly hub: WatchHub;
  private readonly ctx: DurableObjectState;
  private readonly opts: WatchHostOptions;
  private readonly conns = new Map<WatchStream, Conn>();
  private readonly sockets = new Map<WebSocket, SocketConn>();
  private pumping = false;
  private progressTimer: ReturnType<typeof setTimeout> | null = null;
  private progressScheduled = false;

  constructor(ctx: DurableObjectState, opts: WatchHostOptions) {
    this.ctx = ctx;
    this.opts = opts;
    this.hub = new WatchHub(opts.source, opts.limits);
    try {
      ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(MUX_PING, MUX_PONG));
    } catch {
      // Not available in every runtime; pings then wake the object and are answered below.
    }
    for (const ws of ctx.getWebSockets()) this.restoreSocket(ws);
    this.kick();
  }

  /** Whether this request is one of ours (the member's fetch() delegates it). */
  handles(request: Request): boolean {
    const path = new URL(request.url).pathname;
    return WATCH_PATHS.includes(path) || path === MUX_PATH;
  }

  async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    const upgrade = request.headers.get("Upgrade")?.toLowerCase() === "websocket";
    if (path === MUX_PATH) {
      if (!upgrade) return new Response("expected a WebSocket upgrade\n", { status: 426, headers: { "Content-Type": "text/plain; charset=utf-8" } });
      return this.acceptSocket(request, "mux");
    }
    if (upgrade) return this.acceptSocket(request, "gateway");
    if (request.method !== "POST") {
      return new Response("Method Not Allowed\n", { status: 405, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    }
    return this.serveHttp(request);
  }

  /** The member applied entries: hand the new revisions to the watchers. */
  onApplied(): void {
    if (this.conns.size === 0) return;
    this.hub.onApplied();
    this.flushAll();
    this.kick();
  }

  /** The progress interval elapsed (also callable from tests and from a member timer). */
  progressTick(): void {
    this.hub.progressTick();
    this.flushAll();
  }

  // ---- WebSockets ---------------------------------------------------------------------

  private acceptSocket(request: Request, kind: SocketKind): Response {
    const max = this.opts.maxSockets ?? 10_000;
    if (this.ctx.getWebSockets().length >= max) {
      return new Response(errorBody(14, `etcdo: too many sockets on this member (limit ${max})`), {
        status: 503,
        headers: { "Content-Type": "application/json" },
      });
    }
    const pair = new WebSocketPair();
    const client = pair[0];
    const server = pair[1];
    this.ctx.acceptWebSocket(server, [TAG[kind]]);
    const state = emptySocketState(kind);
    this.register(server, state);
    const headers = new Headers();
    // etcd's gateway (grpc-websocket-proxy) answers a "Bearer, <token>" subprotocol in kind;
    // a browser refuses the socket otherwise.
    const protocol = request.headers.get("Sec-WebSocket-Protocol") ?? "";
    if (protocol.startsWith("Bearer")) headers.set("Sec-WebSocket-Protocol", "Bearer");
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  private register(ws: WebSocket, state: SocketState): SocketConn {
    const stream = this.hub.openStream();
    stream.nextAutoId = state.nextId;
    const conn: SocketConn = { kind: state.kind, stream, ws, state, saved: null };
    this.conns.set(stream, conn);
    this.sockets.set(ws, conn);
    return conn;
  }

  private restoreSocket(ws: WebSocket): SocketConn | undefined {
    let state: unknown;
    try {
      state = ws.deserializeAttachment();
    } catch {
      state = undefined;
    }
    if (!isSocketState(state)) return undefined;
    const conn = this.register(ws, state);
    for (const saved of toSaved(state, this.opts.source.rev())) this.hub.restore(conn.stream, saved);
    return conn;
  }

  private connOf(ws: WebSocket): SocketConn | undefined {
    return this.sockets.get(ws) ?? this.restoreSocket(ws);
  }

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const conn = this.connOf(ws);
    if (!conn) {
      ws.close(1011, "unknown socket");
      return;
    }
    const size = typeof message === "string" ? message.length : message.byteLength;
    const maxFrame = this.opts.maxFrameBytes ?? 2 * 1024 * 1024;
    if (size > maxFrame) {
      this.sendError(conn, 8, `etcdo: frame of ${size} bytes is larger than the limit (${maxFrame})`);
      return;
    }
    const text = typeof message === "string" ? message : new TextDecoder().decode(message);
    if (conn.kind === "gateway") this.gatewayFrame(conn, text);
    else await this.muxFrame(conn, text);
    this.afterActivity(conn);
  }

  webSocketClose(ws: WebSocket, code: number, _reason: string, _wasClean: boolean): void {
    const conn = this.sockets.get(ws);
    if (conn) this.drop(conn);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
    } catch {
      // already closed
    }
  }

  webSocketError(ws: WebSocket, _error: unknown): void {
    const conn = this.sockets.get(ws);
    if (conn) this.drop(conn);
  }

  private drop(conn: Conn): void {
    this.hub.closeStream(conn.stream);
    this.conns.delete(conn.stream);
    if (conn.kind !== "http") this.sockets.delete(conn.ws);
  }

  private gatewayFrame(conn: SocketConn, text: string): void {
    // The gateway writes each frame and a newline into one request body.
    const d = decodeWatchStream(conn.state.rest + text + "\n");
    conn.state.rest = d.rest;
    if (conn.state.rest.length > (this.opts.maxFrameBytes ?? 2 * 1024 * 1024)) {
      conn.state.rest = "";
      this.sendError(conn, 8, "etcdo: unfinished request larger than the frame limit");
    }
    for (const r of d.requests) this.handleRequest(conn, r);
    if (d.error) this.sendError(conn, d.error.code, d.error.message);
  }

  private async muxFrame(conn: SocketConn, text: string): Promise<void> {
    if (text === MUX_PING) {
      conn.ws.send(MUX_PONG);
      return;
    }
    const frame = decodeMuxFrame(text);
    if ("error" in frame) {
      conn.ws.send(encodeMuxError(frame.error.code, frame.error.message, frame.ref));
      return;
    }
    if ("watch" in frame) {
      this.handleRequest(conn, frame.watch);
      return;
    }
    const result = await this.opts.keepAlive(frame.keepalive);
    if (result.ok) {
      conn.ws.send(`{"keepalive":${encodeLeaseKeepAliveResponse(result.response as LeaseKeepAliveResponse)}}`);
    } else {
      conn.ws.send(encodeMuxError(result.code, result.message, `keepalive:${frame.keepalive}`));
    }
  }

  private handleRequest(conn: Conn, r: WatchRequest): void {
    if (conn.kind !== "http" && "createRequest" in r && !this.fitsAttachment(conn, r.createRequest)) {
      const wsrev = this.opts.source.rev();
      conn.stream.control({
        revision: wsrev,
        watchId: -1,
        created: true,
        canceled: true,
        compactRevision: 0,
        cancelReason: "etcdo: too many watches on this socket",
        fragment: false,
        events: [],
      });
      return;
    }
    this.hub.handle(conn.stream, r);
    // The next create of the same frame is measured against the attachment with this one.
    if (conn.kind !== "http" && "createRequest" in r) this.save(conn);
  }

  /** Whether the socket's watchers with this one still fit its attachment. */
  private fitsAttachment(conn: SocketConn, c: { key: Uint8Array; rangeEnd: Uint8Array }): boolean {
    return stateSizeBytes({ ...conn.state, rest: "" }) + 96 + c.key.length + c.rangeEnd.length <= ATTACHMENT_BUDGET_BYTES;
  }

  private sendError(conn: SocketConn, code: number, message: string): void {
    conn.ws.send(conn.kind === "gateway" ? errorBody(code, message) : encodeMuxError(code, message));
  }

  // ---- HTTP streaming -----------------------------------------------------------------

  private async serveHttp(request: Request): Promise<Response> {
    const reader = request.body?.getReader();
    const decoder = new TextDecoder();
    let rest = "";
    let first: WatchRequest[] = [];
    let ended = !reader;
    // Read until the first request (or the end): a bad first value fails the whole call.
    while (!ended && first.length === 0) {
      const chunk = await reader!.read();
      if (chunk.done) {
        ended = true;
        rest += decoder.decode();
      } else {
        rest += decoder.decode(chunk.value, { stream: true });
      }
      const d = decodeWatchStream(rest);
      if (d.error && d.requests.length === 0) return httpError(d.error.code, d.error.message);
      if (ended && d.rest.trim() !== "" && d.requests.length === 0) return httpError(2, "unexpected EOF");
      first = d.requests;
      rest = d.error ? "" : d.rest;
      if (d.error) ended = true; // etcd stops reading the stream at a bad value
    }
    const conn: HttpConn = { kind: "http", stream: this.hub.openStream(), wake: null };
    this.conns.set(conn.stream, conn);
    for (const r of first) this.handleRequest(conn, r);
    this.afterActivity(conn);
    if (!ended) void this.readRestOfBody(conn, reader!, decoder, rest);

    const sizer = () => watchResponseSizer(this.opts.header());
    const body = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          for (;;) {
            if (conn.stream.closed) return;
            const [q] = conn.stream.take(1);
            if (q) {
              const lines = this.encode(q, sizer).map((m) => m + "\n").join("");
              controller.enqueue(encoder.encode(lines));
              // Room in the buffer: victims of this stream may go on.
              this.kick();
              return;
            }
            await new Promise<void>((resolve) => {
              conn.wake = resolve;
            });
            conn.wake = null;
          }
        },
        cancel: () => {
          this.drop(conn);
          conn.wake?.();
        },
      },
      { highWaterMark: 1 },
    );
    const headers: Record<string, string> = { "Content-Type": "application/json", "Grpc-Metadata-Content-Type": "application/grpc" };
    return new Response(body, { status: 200, headers });
  }

  private async readRestOfBody(conn: HttpConn, reader: ReadableStreamDefaultReader<Uint8Array>, decoder: TextDecoder, rest: string): Promise<void> {
    try {
      for (;;) {
        const chunk = await reader.read();
        if (conn.stream.closed) return;
        rest += chunk.done ? decoder.decode() : decoder.decode(chunk.value, { stream: true });
        const d = decodeWatchStream(rest);
        for (const r of d.requests) this.handleRequest(conn, r);
        this.afterActivity(conn);
        if (d.error || chunk.done) return;
        rest = d.rest;
      }
    } catch {
      // The client stopped sending; its watches go on until it disconnects.
    }
  }

  // ---- delivery -----------------------------------------------------------------------

  private encode(q: QueuedResponse, sizer: () => ReturnType<typeof watchResponseSizer>): string[] {
    const h = this.opts.header();
    const parts = q.fragment ? fragmentResponse(q.response, FRAGMENT_LIMIT_BYTES, sizer()) : [q.response];
    return parts.map((r) => encodeWatchResult(r, h));
  }

  private afterActivity(conn: Conn): void {
    this.flush(conn);
    this.kick();
    this.armProgressTimer();
  }

  private flushAll(): void {
    for (const conn of this.conns.values()) this.flush(conn);
  }

  private flush(conn: Conn): void {
    if (conn.kind === "http") {
      if (conn.stream.pending() > 0) conn.wake?.();
      return;
    }
    if (conn.stream.pending() > 0) {
      const sizer = () => watchResponseSizer(this.opts.header());
      const h = this.opts.header();
      for (const q of conn.stream.take()) {
        if (conn.kind === "gateway") {
          for (const m of this.encode(q, sizer)) conn.ws.send(m);
        } else {
          const parts = q.fragment ? fragmentResponse(q.response, FRAGMENT_LIMIT_BYTES, sizer()) : [q.response];
          for (const r of parts) conn.ws.send(`{"watch":${encodeWatchResponseMessage(r, h)}}`);
        }
      }
    }
    this.save(conn);
  }

  /** Writes the socket's attachment when its watchers changed. */
  private save(conn: SocketConn): void {
    const now = { version: conn.stream.savedStateVersion, rest: conn.state.rest, nextId: conn.stream.nextAutoId };
    const last = conn.saved;
    if (last && last.version === now.version && last.rest === now.rest && last.nextId === now.nextId) return;
    const watchers: SocketState["watchers"] = this.hub.save(conn.stream).map((s) => [s.spec, s.synced ? 0 : s.nextRev]);
    const state: SocketState = { ...conn.state, nextId: now.nextId, watchers };
    conn.state = state;
    conn.saved = now;
    // The watchers always fit (fitsAttachment); an unfinished request too large to carry as
    // well is left out: if the member sleeps before the request's end arrives, that end fails
    // to parse and is answered with an error, the socket and its watches unharmed.
    conn.ws.serializeAttachment(stateSizeBytes(state) <= ATTACHMENT_BUDGET_BYTES ? state : { ...state, rest: "" });
  }

  /** Runs the hub's background work (catch-up, victims) until none is left, yielding between rounds. */
  private kick(): void {
    if (this.pumping || !this.hub.hasWork()) return;
    this.pumping = true;
    void (async () => {
      try {
        while (this.hub.step()) {
          this.flushAll();
          await new Promise((r) => setTimeout(r, 0));
        }
        this.flushAll();
      } finally {
        this.pumping = false;
      }
    })();
  }

  /** The member's progress timer fired. */
  onProgressTimer(): void {
    this.progressScheduled = false;
    this.progressTick();
    this.armProgressTimer();
  }

  private armProgressTimer(): void {
    const interval = this.opts.progressIntervalMs ?? 10 * 60 * 1000;
    if (interval <= 0 || this.progressTimer !== null || this.progressScheduled) return;
    let wanted = false;
    for (const s of this.conns.keys()) {
      for (const w of s.watchers.values()) if (w.progressNotify) wanted = true;
    }
    if (!wanted) return;
    if (this.opts.scheduleProgress) {
      this.progressScheduled = true;
      this.opts.scheduleProgress(Date.now() + interval);
      return;
    }
    this.progressTimer = setTimeout(() => {
      this.progressTimer = null;
      this.progressTick();
      this.armProgressTimer();
    }, interval);
  }
}

function httpError(code: number, message: string): Response {
  return new Response(errorBody(code, message), { status: httpStatusOf(code), headers: { "Content-Type": "application/json" } });
}
