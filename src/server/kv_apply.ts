// etcd's applierV3backend Range / Put / DeleteRange over an MVCC view (etcdserver/apply.go):
// the request-level semantics on top of the store (limit+1, filters, sorting, keys_only,
// prev_kv, ignore_value / ignore_lease).
import type { RangeEnd, RangeResult } from "../mvcc/store.ts";
import { leaseToText } from "../mvcc/kv.ts";
import { compareBytes } from "../util/bytes.ts";
import { Errors } from "./errors.ts";
import { goSort, goSortReverse } from "./go_sort.ts";
import type { DeleteRangeRequest, DeleteRangeResponse, KeyValue, PutRequest, PutResponse, RangeRequest, RangeResponse, ResponseHeader } from "./types.ts";

/** What Range needs: the store itself, or a txn (which reads its own writes). */
export interface KvView {
  rev(): number;
  range(key: Uint8Array, end: RangeEnd, opts: { limit?: number; rev?: number; count?: boolean; keysOnly?: boolean }): RangeResult;
}

export interface KvWriteView extends KvView {
  put(key: Uint8Array, value: Uint8Array, leaseText: string): number;
  deleteRange(key: Uint8Array, end: RangeEnd): [number, number];
}

/** A header carrying only the revision; the member fills cluster, member and term. */
export function revisionHeader(revision: number): ResponseHeader {
  return { clusterId: 0n, memberId: 0n, revision, raftTerm: 0 };
}

/** etcd's mkGteRange + nil handling: "" → one key, "\0" → every key >= key. */
export function toRangeEnd(rangeEnd: Uint8Array): RangeEnd {
  if (rangeEnd.length === 0) return null;
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return new Uint8Array(0);
  return rangeEnd;
}

const EMPTY = new Uint8Array(0);

const sorters: Record<string, (a: KeyValue, b: KeyValue) => boolean> = {
  KEY: (a, b) => compareBytes(a.key, b.key) < 0,
  VERSION: (a, b) => a.version - b.version < 0,
  CREATE: (a, b) => a.createRevision - b.createRevision < 0,
  MOD: (a, b) => a.modRevision - b.modRevision < 0,
  VALUE: (a, b) => compareBytes(a.value, b.value) < 0,
};

/** etcd's applierV3backend.Range. Throws FutureRev / Compacted. */
export function applyRange(view: KvView, r: RangeRequest): RangeResponse {
  let limit = r.limit;
  const filtered = r.minModRevision !== 0 || r.maxModRevision !== 0 || r.minCreateRevision !== 0 || r.maxCreateRevision !== 0;
  if (r.sortOrder !== "NONE" || filtered) limit = 0; // fetch everything; sort and truncate afterwards
  if (limit > 0) limit = limit + 1; // one extra for `more`
  // Values are needed only to return them or to sort by them.
  const keysOnly = r.keysOnly && r.sortTarget !== "VALUE";
  const rr = view.range(r.key, toRangeEnd(r.rangeEnd), { limit, rev: r.revision, count: r.countOnly, keysOnly });
  let kvs = rr.kvs;
  if (r.maxModRevision !== 0) kvs = kvs.filter((kv) => !(kv.modRevision > r.maxModRevision));
  if (r.minModRevision !== 0) kvs = kvs.filter((kv) => !(kv.modRevision < r.minModRevision));
  if (r.maxCreateRevision !== 0) kvs = kvs.filter((kv) => !(kv.createRevision > r.maxCreateRevision));
  if (r.minCreateRevision !== 0) kvs = kvs.filter((kv) => !(kv.createRevision < r.minCreateRevision));

  let sortOrder = r.sortOrder;
  // The store returns keys ascending; any other target defaults to ascending.
  if (r.sortTarget !== "KEY" && sortOrder === "NONE") sortOrder = "ASCEND";
  if (sortOrder !== "NONE") {
    const less = sorters[r.sortTarget]!;
    if (sortOrder === "ASCEND") goSort(kvs, less);
    else goSortReverse(kvs, less);
  }
  let more = false;
  if (r.limit > 0 && kvs.length > r.limit) {
    kvs = kvs.slice(0, r.limit);
    more = true;
  }
  if (r.keysOnly) kvs = kvs.map((kv) => (kv.value.length === 0 ? kv : { ...kv, value: EMPTY }));
  return { header: revisionHeader(rr.rev), kvs, more, count: rr.count };
}

/**
 * etcd's Put inside a write txn (the lease and ignore_* checks of a txn happen earlier, in
 * checkRequests). Throws KeyNotFound for ignore_value / ignore_lease on a missing key.
 */
export function applyPut(txn: KvWriteView, p: PutRequest): PutResponse {
  let value = p.value;
  let lease = p.lease;
  let prev: KeyValue | undefined;
  if (p.ignoreValue || p.ignoreLease || p.prevKv) {
    prev = txn.range(p.key, null, {}).kvs[0];
  }
  if ((p.ignoreValue || p.ignoreLease) && !prev) throw Errors.KeyNotFound;
  if (p.ignoreValue) value = prev!.value;
  if (p.ignoreLease) lease = prev!.lease;
  const rev = txn.put(p.key, value, leaseToText(lease));
  const resp: PutResponse = { header: revisionHeader(rev) };
  if (p.prevKv && prev) resp.prevKv = prev;
  return resp;
}

/** etcd's DeleteRange inside a write txn. */
export function applyDeleteRange(txn: KvWriteView, dr: DeleteRangeRequest): DeleteRangeResponse {
  const end = toRangeEnd(dr.rangeEnd);
  let prevKvs: KeyValue[] = [];
  if (dr.prevKv) prevKvs = txn.range(dr.key, end, {}).kvs;
  const [deleted, rev] = txn.deleteRange(dr.key, end);
  return { header: revisionHeader(rev), deleted, prevKvs };
}
