// Distributed locks over etcd's Lock service (/v3/lock/lock, /v3/lock/unlock): the lock is a
// key under `name` owned by a lease this client keeps alive. The key's create revision is
// the fencing token: pass it along and have the guarded resource refuse older ones.

import { type Bytes, concatBytes, toBase64, toBytes } from "./bytes.ts";
import { EtcdError, GrpcCode } from "./errors.ts";
import type { Conn } from "./kv.ts";
import { range } from "./kv.ts";
import { LeaseKeeper, lease as grantKept } from "./keepalive.ts";
import type { CallOptions } from "./transport.ts";
import { type LeaseIdLike, type ResponseHeader, type RawHeader, decodeHeader, fromBase64Key, leaseIdString } from "./types.ts";

export interface LockOptions extends CallOptions {
  /** TTL in seconds of the lease granted for the lock (default 60, as etcdctl's session). */
  ttl?: number;
  /** Hold the lock with this lease instead (kept alive by the caller). */
  lease?: LeaseIdLike;
}

export interface HeldLock {
  /** The lock's key (namespace removed): `<name>/<lease hex>`. */
  key: Uint8Array;
  /** Fencing token: the create revision of the lock's key. */
  revision: number;
  header: ResponseHeader;
  /** The lease kept alive for this lock (undefined when the caller gave one). */
  lease: LeaseKeeper | undefined;
  /** Aborted when the lock's lease is lost: the lock may be held by someone else now. */
  lost: AbortSignal;
  /** Releases the lock (and revokes the lease the lock was given). */
  unlock(o?: CallOptions): Promise<void>;
}

/** Waits until the lock `name` is held by this client. */
export async function lock(c: Conn, name: Bytes, o: LockOptions = {}): Promise<HeldLock> {
  const keeper = o.lease === undefined ? await grantKept(c, o.ttl ?? 60) : undefined;
  const leaseId = o.lease === undefined ? keeper!.id : leaseIdString(o.lease);
  try {
    // Waiting for a lock has no deadline unless the caller sets one.
    const r = await c.transport.request<{ header?: RawHeader; key?: string }>(
      "/v3/lock/lock",
      { name: toBase64(concatBytes(c.prefix, toBytes(name))), lease: leaseId },
      { signal: o.signal, timeout: o.timeout ?? 0 },
    );
    if (!r.key) throw new EtcdError("lock: no key in the answer", { code: GrpcCode.Internal });
    const key = fromBase64Key(r.key, c.prefix);
    const kv = (await range(c, key, { timeout: o.timeout })).kvs[0];
    if (!kv) throw new EtcdError("lock lost on init", { code: GrpcCode.Aborted });
    const lost = keeper ? keeper.lost : new AbortController().signal;
    return {
      key,
      revision: kv.createRevision,
      header: decodeHeader(r.header),
      lease: keeper,
      lost,
      unlock: async (uo: CallOptions = {}) => {
        await c.transport.request("/v3/lock/unlock", { key: toBase64(concatBytes(c.prefix, key)) }, uo);
        await keeper?.revoke(uo);
      },
    };
  } catch (e) {
    await keeper?.revoke().catch(() => {});
    throw e;
  }
}
