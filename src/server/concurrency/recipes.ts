// The requests behind etcd's lock and election recipes (clientv3/concurrency: Mutex,
// Election), built as plain KV requests, and the local reads a waiter makes. Pure.
//
// A contender's key is `<name>/<lease ID in lower-case hex>`, created (if absent) with a txn
// that compares its create revision to 0, so a retry with the same lease finds the same key.
// Contenders are ordered by create revision: the holder (leader) is the key under the prefix
// with the smallest create revision, and a waiter waits only for its immediate predecessor
// (the key with the largest create revision below its own) to go: no thundering herd.
import { EtcdError, GrpcCode } from "../errors.ts";
import type { Compare, KeyValue, RangeRequest, RangeResponse, RequestOp, TxnRequest } from "../types.ts";

const enc = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** etcd's errors of these services: returned unwrapped by the server, so gRPC code Unknown. */
export const ConcurrencyErrors = {
  ElectionNoLeader: new EtcdError(GrpcCode.Unknown, "election: no leader"),
  ElectionNotLeader: new EtcdError(GrpcCode.Unknown, "election: not leader"),
  MissingLeaderKey: new EtcdError(GrpcCode.Unknown, '"leader" field must be provided'),
  /** clientv3/concurrency.ErrSessionExpired: the waiter's lease (and so its key) went. */
  SessionExpired: new EtcdError(GrpcCode.Unknown, "session expired"),
} as const;

/** The TTL of the lease etcd grants when Lock or Campaign comes without one (a session's default). */
export const DEFAULT_SESSION_TTL_SECONDS = 60;

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** `<name>/` */
export function prefixOf(name: Uint8Array): Uint8Array {
  return concat(name, enc.encode("/"));
}

/** `<name>/<lease hex>` (Go's %x of the lease ID). */
export function contenderKey(name: Uint8Array, lease: bigint): Uint8Array {
  return concat(prefixOf(name), enc.encode(lease.toString(16)));
}

/** clientv3.GetPrefixRangeEnd. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.slice(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}

export function rangeRequest(key: Uint8Array, over: Partial<RangeRequest> = {}): RangeRequest {
  return {
    key, rangeEnd: EMPTY, limit: 0, revision: 0, sortOrder: "NONE", sortTarget: "KEY", serializable: false,
    keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
    ...over,
  };
}

/** The first contender under a prefix (clientv3.WithFirstCreate). */
export function firstCreateRequest(prefix: Uint8Array, serializable: boolean): RangeRequest {
  return rangeRequest(prefix, { rangeEnd: prefixEnd(prefix), limit: 1, sortOrder: "ASCEND", sortTarget: "CREATE", serializable });
}

/** The last contender created at or before maxCreateRev (waitDeletes' query). */
export function predecessorRequest(prefix: Uint8Array, maxCreateRev: number): RangeRequest {
  return rangeRequest(prefix, {
    rangeEnd: prefixEnd(prefix), limit: 1, sortOrder: "DESCEND", sortTarget: "CREATE", maxCreateRevision: maxCreateRev, serializable: true,
  });
}

function createRevIs(key: Uint8Array, rev: number): Compare {
  return { result: "EQUAL", target: "CREATE", key, rangeEnd: EMPTY, targetUnion: { createRevision: rev } };
}

function put(key: Uint8Array, value: Uint8Array, lease: bigint): RequestOp {
  return { requestPut: { key, value, lease, prevKv: false, ignoreValue: false, ignoreLease: false } };
}

/** Create the contender key unless it exists; else read it (Mutex.Lock / Election.Campaign). */
export function contendTxn(key: Uint8Array, value: Uint8Array, lease: bigint): TxnRequest {
  return { compare: [createRevIs(key, 0)], success: [put(key, value, lease)], failure: [{ requestRange: rangeRequest(key) }] };
}

/** Election.Proclaim: rewrite the leader key while it is still the one created at rev. */
export function proclaimTxn(leader: { key: Uint8Array; rev: number; lease: bigint }, value: Uint8Array): TxnRequest {
  return { compare: [createRevIs(leader.key, leader.rev)], success: [put(leader.key, value, leader.lease)], failure: [] };
}

/** Election.Resign: delete the leader key while it is still the one created at rev. */
export function resignTxn(leader: { key: Uint8Array; rev: number }): TxnRequest {
  return {
    compare: [createRevIs(leader.key, leader.rev)],
    success: [{ requestDeleteRange: { key: leader.key, rangeEnd: EMPTY, prevKv: false } }],
    failure: [],
  };
}

/** The key a contend txn's failure branch read (the caller's existing contender key). */
export function existingContender(responses: readonly unknown[]): KeyValue | undefined {
  const r = responses[0] as { responseRange?: RangeResponse } | undefined;
  return r?.responseRange?.kvs[0];
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function hexOf(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
