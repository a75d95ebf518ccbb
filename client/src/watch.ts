// Watch: etcd's Watch RPC over the client's one stream (stream.ts). Each watch remembers the
// revision it has reached and is created again from there + 1 whenever the stream comes
// back, so a reconnect or a member failover neither loses nor repeats an event. Compaction
// past that revision ends the watch with a WatchCompactedError carrying the compact revision.

import { type Bytes, toBase64 } from "./bytes.ts";
import { EtcdError, GrpcCode } from "./errors.ts";
import { type Conn, type KeyRangeOptions, keyRange } from "./kv.ts";
import { type LinkKind, type RawWatchResponse, type StreamHub, type StreamMessage, type StreamUser, hubFor } from "./stream.ts";
import { type KeyValue, type RawKv, type ResponseHeader, decodeHeader, decodeKv, num } from "./types.ts";

export interface WatchEvent {
  type: "put" | "delete";
  kv: KeyValue;
  /** The key's previous version, when asked for with `prevKv` (null for a creation). */
  prevKv: KeyValue | null;
}

export interface WatchResponse {
  header: ResponseHeader;
  events: WatchEvent[];
  /** A progress notification: every event up to `header.revision` has been delivered. */
  progress: boolean;
}

export interface WatchOptions extends KeyRangeOptions {
  /** Deliver events from this revision on (history replay). Default: from the next revision. */
  startRevision?: number;
  prevKv?: boolean;
  noPut?: boolean;
  noDelete?: boolean;
  /** Ask the server for periodic progress notifications. */
  progressNotify?: boolean;
  signal?: AbortSignal;
  onEvents?: (events: WatchEvent[], r: WatchResponse) => void;
  onProgress?: (revision: number, r: WatchResponse) => void;
  /** The watch ended with an error (compaction, refused, canceled by the server). */
  onError?: (e: EtcdError) => void;
}

/** The watch's start revision has been compacted: read again, then watch from that read's revision + 1. */
export class WatchCompactedError extends EtcdError {
  readonly compactRevision: number;
  /** The header of the server's cancel response. */
  readonly header: ResponseHeader | undefined;
  constructor(compactRevision: number, header?: ResponseHeader) {
    super("etcdserver: mvcc: required revision has been compacted", { code: GrpcCode.OutOfRange });
    this.name = "WatchCompactedError";
    this.compactRevision = compactRevision;
    this.header = header;
  }
}

export const isWatchCompacted = (e: unknown): e is WatchCompactedError => e instanceof WatchCompactedError;

/** A running watch: an async iterable of responses, and/or the callbacks given in its options. */
export class Watch implements AsyncIterable<WatchResponse> {
  readonly id: number;
  /** Resolves once the server has created the watch (the first time). */
  readonly ready: Promise<void>;
  /** Resolves when the watch ends: canceled (undefined) or failed (the error). */
  readonly done: Promise<EtcdError | undefined>;
  /** The member that created the watch most recently (its stream's member_id). */
  memberId = "";
  private readonly reg: Registry;
  private readonly o: WatchOptions;
  private readonly queue: WatchResponse[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  private failure: EtcdError | undefined;
  private iterating: boolean;
  private resolveReady!: () => void;
  private rejectReady!: (e: EtcdError) => void;
  private resolveDone!: (e: EtcdError | undefined) => void;
  /** @internal the create request without start_revision */
  readonly req: Record<string, unknown>;
  /** @internal the next revision to ask for (0: not known yet) */
  nextRev: number;
  /** @internal created on the current link */
  created = false;
  /** @internal cancel requested by the client */
  canceling = false;
  /** @internal the key namespace */
  readonly ns: Uint8Array;

  constructor(reg: Registry, id: number, ns: Uint8Array, req: Record<string, unknown>, o: WatchOptions) {
    this.reg = reg;
    this.id = id;
    this.ns = ns;
    this.req = req;
    this.o = o;
    this.nextRev = o.startRevision && o.startRevision > 0 ? o.startRevision : 0;
    this.iterating = !o.onEvents && !o.onProgress;
    this.ready = new Promise((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.ready.catch(() => {});
    this.done = new Promise((res) => (this.resolveDone = res));
  }

  /** The last revision this watch has fully delivered (events or progress). */
  get revision(): number {
    return this.nextRev > 0 ? this.nextRev - 1 : 0;
  }

  /** Stops the watch; resolves when the server has confirmed (or at once when offline). */
  async cancel(): Promise<void> {
    if (this.ended) return;
    this.canceling = true;
    this.reg.cancel(this);
    await this.done;
  }

  /** Asks for a progress notification on this watch's stream (all watches of the client get one). */
  requestProgress(): void {
    this.reg.hub.send(this.reg.frame({ progress_request: {} }));
  }

  /** @internal */
  deliver(r: WatchResponse): void {
    if (this.ended) return;
    if (r.progress) this.o.onProgress?.(r.header.revision, r);
    else this.o.onEvents?.(r.events, r);
    if (this.iterating) {
      this.queue.push(r);
      this.wake();
    }
  }

  /** @internal */
  markCreated(): void {
    this.resolveReady();
  }

  /** @internal */
  finish(err: EtcdError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err;
    if (err) {
      this.rejectReady(err);
      this.o.onError?.(err);
    } else this.resolveReady();
    this.resolveDone(err);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchResponse> {
    this.iterating = true;
    try {
      for (;;) {
        const r = this.queue.shift();
        if (r) {
          yield r;
          continue;
        }
        if (this.ended) {
          if (this.failure) throw this.failure;
          return;
        }
        await new Promise<void>((res) => (this.waiter = res));
      }
    } finally {
      // Leaving a for-await loop (break, return, throw) stops the watch, as closing a Go channel reader would not.
      if (!this.ended) void this.cancel();
    }
  }

  /** Every event, one at a time. */
  async *events(): AsyncGenerator<WatchEvent> {
    for await (const r of this) yield* r.events;
  }
}

function decodeEvents(r: RawWatchResponse, ns: Uint8Array): WatchEvent[] {
  return (r.events ?? []).map((e) => ({
    type: e.type === "DELETE" ? "delete" : "put",
    kv: decodeKv((e.kv ?? {}) as RawKv, ns),
    prevKv: e.prev_kv ? decodeKv(e.prev_kv as RawKv, ns) : null,
  }));
}

/** Every watch of one transport, on its stream hub. */
class Registry implements StreamUser {
  readonly hub: StreamHub;
  private readonly watches = new Map<number, Watch>();
  private nextId = 1;
  private kind: LinkKind | undefined;
  private attached = false;

  constructor(hub: StreamHub) {
    this.hub = hub;
    // Closing the client ends every watch.
    hub.onState((s) => {
      if (s !== "closed") return;
      for (const w of [...this.watches.values()]) w.finish(undefined);
      this.watches.clear();
      this.attached = false;
    });
  }

  frame(req: unknown): unknown {
    return this.kind === "mux" ? { watch: req } : req;
  }

  add(ns: Uint8Array, req: Record<string, unknown>, o: WatchOptions): Watch {
    const w = new Watch(this, this.nextId++, ns, req, o);
    this.watches.set(w.id, w);
    if (!this.attached) {
      this.attached = true;
      this.hub.attach(this);
    } else if (this.hub.kind) this.create(w);
    return w;
  }

  private create(w: Watch): void {
    const req: Record<string, unknown> = { ...w.req, watch_id: String(w.id) };
    if (w.nextRev > 0) req.start_revision = String(w.nextRev);
    this.hub.send(this.frame({ create_request: req }));
  }

  cancel(w: Watch): void {
    if (!this.hub.kind || !w.created) {
      this.remove(w, undefined);
      return;
    }
    if (!this.hub.send(this.frame({ cancel_request: { watch_id: String(w.id) } }))) this.remove(w, undefined);
  }

  private remove(w: Watch, err: EtcdError | undefined): void {
    this.watches.delete(w.id);
    w.finish(err);
    if (this.watches.size === 0 && this.attached) {
      this.attached = false;
      this.hub.detach(this);
    }
  }

  onOpen(kind: LinkKind): void {
    this.kind = kind;
    for (const w of this.watches.values()) {
      w.created = false;
      if (w.canceling) this.remove(w, undefined);
      else this.create(w);
    }
  }

  onDown(): void {
    this.kind = undefined;
    for (const w of this.watches.values()) w.created = false;
  }

  onMessage(m: StreamMessage): void {
    if (m.t !== "watch") return;
    const r = m.r;
    const id = num(r.watch_id);
    const header = decodeHeader(r.header);
    if (id === -1) {
      if (r.created || r.canceled) return; // a refused create: ids are unique and ranges checked, so not ours
      // A progress response for the whole stream. etcdo (mux) answers it only once every
      // watcher is synced, so each watch has everything up to that revision; etcd 3.4 may
      // answer ahead of events, so there it is only passed on.
      for (const w of this.watches.values()) {
        if (!w.created) continue;
        if (this.kind === "mux" && header.revision + 1 > w.nextRev) w.nextRev = header.revision + 1;
        w.deliver({ header, events: [], progress: true });
      }
      return;
    }
    const w = this.watches.get(id);
    if (!w) return;
    if (r.created) {
      w.created = true;
      w.memberId = header.memberId;
      // Without a start revision the watch begins after the revision in the created header.
      if (w.nextRev === 0) w.nextRev = header.revision + 1;
      w.markCreated();
    }
    if (r.canceled) {
      const compact = num(r.compact_revision);
      if (compact > 0) this.remove(w, new WatchCompactedError(compact, header));
      else if (w.canceling) this.remove(w, undefined);
      else this.remove(w, new EtcdError(r.cancel_reason || "watch canceled by the server", { code: GrpcCode.Canceled }));
      return;
    }
    if (r.events && r.events.length > 0) {
      // Drop anything already delivered (a resumed stream starts exactly at nextRev; this is a guard).
      const events = decodeEvents(r, w.ns).filter((e) => e.kv.modRevision >= w.nextRev);
      if (events.length === 0) return;
      w.nextRev = events[events.length - 1]!.kv.modRevision + 1;
      w.deliver({ header, events, progress: false });
      return;
    }
    if (!r.created && w.created) {
      // A periodic progress notification: etcd sends them only to synced watchers.
      if (header.revision + 1 > w.nextRev) w.nextRev = header.revision + 1;
      w.deliver({ header, events: [], progress: true });
    }
  }
}

const registries = new WeakMap<StreamHub, Registry>();

function registryFor(c: Conn): Registry {
  const hub = hubFor(c.transport);
  let r = registries.get(hub);
  if (!r) {
    r = new Registry(hub);
    registries.set(hub, r);
  }
  return r;
}

/** Watches a key, a prefix (`prefix: true`) or a range (`rangeEnd`, `fromKey`). */
export function watch(c: Conn, key: Bytes, o: WatchOptions = {}): Watch {
  const r = keyRange(c.prefix, key, o);
  const req: Record<string, unknown> = { key: toBase64(r.key) };
  if (r.end) req.range_end = toBase64(r.end);
  if (o.prevKv) req.prev_kv = true;
  if (o.progressNotify) req.progress_notify = true;
  const filters: string[] = [];
  if (o.noPut) filters.push("NOPUT");
  if (o.noDelete) filters.push("NODELETE");
  if (filters.length) req.filters = filters;
  const w = registryFor(c).add(c.prefix, req, o);
  if (o.signal) {
    if (o.signal.aborted) void w.cancel();
    else o.signal.addEventListener("abort", () => void w.cancel(), { once: true });
  }
  return w;
}

/** The stream hub watches of this connection use (state, reconnect count, forced reconnect). */
export function watchStream(c: Conn): StreamHub {
  return hubFor(c.transport);
}
