// Automatic lease keepalive (clientv3's KeepAlive): renews every TTL/3 over etcdo's
// multiplexed socket when the client has one, else with the gateway's /v3/lease/keepalive,
// and aborts `lost` when the lease is gone or could not be renewed before its TTL ran out.

import { EtcdError, ErrorMessage, GrpcCode, isLeaseNotFound } from "./errors.ts";
import type { Conn } from "./kv.ts";
import { grant, keepAliveOnce, revoke } from "./lease.ts";
import { type LinkKind, type StreamHub, type StreamMessage, type StreamUser, hubFor } from "./stream.ts";
import type { CallOptions } from "./transport.ts";
import { type LeaseId, type LeaseIdLike, leaseIdString, num } from "./types.ts";

type Pending = { resolve: (ttl: number) => void; reject: (e: EtcdError) => void };

/** Keepalive frames on the mux socket, matched to their answers by lease ID. */
class MuxKeepalive implements StreamUser {
  readonly hub: StreamHub;
  private readonly pending = new Map<string, Pending[]>();
  private users = 0;
  /** false once the server is known to have no mux socket (a real etcd). */
  supported = true;

  constructor(hub: StreamHub) {
    this.hub = hub;
  }

  use(): void {
    if (this.users++ === 0 && this.supported) this.hub.attach(this);
  }

  release(): void {
    if (--this.users === 0) this.hub.detach(this);
  }

  /** One renewal over the socket; undefined when the socket cannot carry it now. */
  renew(id: LeaseId, ms: number): Promise<number> | undefined {
    if (!this.supported || this.hub.kind !== "mux") return undefined;
    return new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => done(), ms);
      const list = this.pending.get(id) ?? [];
      const p: Pending = { resolve: (ttl) => (clearTimeout(t), resolve(ttl)), reject: (e) => (clearTimeout(t), reject(e)) };
      const done = () => {
        const l = this.pending.get(id);
        if (l) this.pending.set(id, l.filter((x) => x !== p));
        reject(new EtcdError(ErrorMessage.DeadlineExceeded, { code: GrpcCode.DeadlineExceeded }));
      };
      list.push(p);
      this.pending.set(id, list);
      if (!this.hub.send({ keepalive: { ID: id } })) this.settle(id, (x) => x.reject(new EtcdError("stream down", { code: GrpcCode.Unavailable })));
    });
  }

  private settle(id: string, f: (p: Pending) => void): void {
    const l = this.pending.get(id);
    this.pending.delete(id);
    for (const p of l ?? []) f(p);
  }

  onOpen(kind: LinkKind): void {
    if (kind !== "mux") {
      this.supported = false;
      if (this.users > 0) this.hub.detach(this);
    }
  }

  onDown(err: EtcdError): void {
    for (const id of [...this.pending.keys()]) this.settle(id, (p) => p.reject(err));
  }

  onMessage(m: StreamMessage): void {
    if (m.t === "keepalive") {
      const ttl = num(m.r.TTL);
      this.settle(m.r.ID ?? "0", (p) => p.resolve(ttl));
    } else if (m.t === "error" && m.ref?.startsWith("keepalive:")) {
      const e = new EtcdError(m.message, { code: m.code });
      this.settle(m.ref.slice("keepalive:".length), (p) => p.reject(e));
    }
  }
}

const muxes = new WeakMap<StreamHub, MuxKeepalive>();
const muxFor = (c: Conn) => {
  const hub = hubFor(c.transport);
  let m = muxes.get(hub);
  if (!m) muxes.set(hub, (m = new MuxKeepalive(hub)));
  return m;
};

export interface KeepAliveOptions {
  /** The lease's TTL in seconds, if known (renewals start at TTL/3; default: asked at once). */
  ttl?: number;
  /** Called once when the lease is lost. */
  onLost?: (e: EtcdError) => void;
}

/** A lease kept alive until `close()`, `revoke()`, or its loss (`lost` aborts). */
export class LeaseKeeper {
  readonly id: LeaseId;
  /** The TTL the server last granted, in seconds. */
  ttl: number;
  /** Aborted when the lease is gone (expired, revoked) or could not be renewed in time; reason: an EtcdError. */
  readonly lost: AbortSignal;
  /** Resolves with the error when the lease is lost (never, if it is closed first). */
  readonly whenLost: Promise<EtcdError>;
  private readonly c: Conn;
  private readonly ctl = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private deadline: number;
  private stopped = false;
  private readonly mux: MuxKeepalive;
  private resolveLost!: (e: EtcdError) => void;
  private readonly onLost: ((e: EtcdError) => void) | undefined;
  /** Renewals answered so far. */
  renewals = 0;

  constructor(c: Conn, id: LeaseIdLike, o: KeepAliveOptions = {}) {
    this.c = c;
    this.id = leaseIdString(id);
    this.ttl = o.ttl ?? 0;
    this.onLost = o.onLost;
    this.lost = this.ctl.signal;
    this.whenLost = new Promise((res) => (this.resolveLost = res));
    this.deadline = this.ttl > 0 ? Date.now() + this.ttl * 1000 : Infinity;
    this.mux = muxFor(c);
    this.mux.use();
    this.schedule(this.ttl > 0 ? (this.ttl * 1000) / 3 : 0);
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const wait = Math.max(500, Math.min(5000, this.ttl * 1000 > 0 ? (this.ttl * 1000) / 3 : 5000));
    try {
      const overMux = this.mux.renew(this.id, wait);
      const ttl = overMux ? await overMux : (await keepAliveOnce(this.c, this.id, { timeout: wait })).ttl;
      if (this.stopped) return;
      if (ttl <= 0) throw new EtcdError(ErrorMessage.LeaseNotFound, { code: GrpcCode.NotFound });
      this.renewals++;
      this.ttl = ttl;
      this.deadline = Date.now() + ttl * 1000;
      this.schedule((ttl * 1000) / 3);
    } catch (e) {
      if (this.stopped) return;
      if (isLeaseNotFound(e)) return this.lose(e as EtcdError);
      if (Date.now() >= this.deadline) return this.lose(new EtcdError(`lease ${this.id} keepalive: no renewal before the TTL ran out`, { code: GrpcCode.DeadlineExceeded, cause: e }));
      this.schedule(Math.min(500, Math.max(0, this.deadline - Date.now())));
    }
  }

  private lose(e: EtcdError): void {
    this.stop();
    this.ctl.abort(e);
    this.resolveLost(e);
    this.onLost?.(e);
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.mux.release();
  }

  /** Stops renewing (the lease expires after its TTL). */
  close(): void {
    this.stop();
  }

  /** Stops renewing and revokes the lease (its keys are deleted). */
  async revoke(o: CallOptions = {}): Promise<void> {
    this.stop();
    try {
      await revoke(this.c, this.id, o);
    } catch (e) {
      if (!isLeaseNotFound(e)) throw e;
    }
  }
}

/** Keeps an existing lease alive. */
export function keepAlive(c: Conn, id: LeaseIdLike, o: KeepAliveOptions = {}): LeaseKeeper {
  return new LeaseKeeper(c, id, o);
}

/** Grants a lease and keeps it alive. */
export async function lease(c: Conn, ttl: number, o: KeepAliveOptions & CallOptions & { id?: LeaseIdLike } = {}): Promise<LeaseKeeper> {
  const g = await grant(c, ttl, o);
  return new LeaseKeeper(c, g.id, { ...o, ttl: g.ttl });
}
