// etcd's Txn apply (etcdserver/apply.go: Txn, compareToPath, checkRequests, applyTxn).
//
// 1. Every compare of the txn, nested ones included, is evaluated against the store as it
//    was before the txn (the "path": which branch runs at each level).
// 2. The ops on that path are checked against the same pre-txn view (lease exists,
//    ignore_* key exists, range revision not future / compacted). Any failure rejects the
//    whole txn before anything is written.
// 3. The ops run in order on one write txn: they see each other's writes and share one
//    revision. A txn whose path has no put / delete runs on a read view.
import { compareBytes } from "../util/bytes.ts";
import { Errors } from "./errors.ts";
import { applyDeleteRange, applyPut, applyRange, revisionHeader, toRangeEnd, type KvView, type KvWriteView } from "./kv_apply.ts";
import type { Compare, KeyValue, RequestOp, ResponseOp, TxnRequest, TxnResponse } from "./types.ts";

/** Which branch runs at a txn level, and the same for each nested txn on that branch. */
export interface TxnPath {
  succeeded: boolean;
  nested: TxnPath[];
}

export interface TxnEnv {
  /** Does the lease exist (pre-txn)? */
  leaseExists(id: bigint): boolean;
  /** etcd's compactMainRev (the read view's FirstRev). */
  compactRev(): number;
}

/** etcd's isTxnReadonly: every op of both branches is a range (nested txns count as writes). */
export function isTxnReadOnly(r: TxnRequest): boolean {
  for (const op of r.success) if (!("requestRange" in op)) return false;
  for (const op of r.failure) if (!("requestRange" in op)) return false;
  return true;
}

/** etcd's isTxnSerializable: read-only and every range serializable (no ReadIndex needed). */
export function isTxnSerializable(r: TxnRequest): boolean {
  for (const op of [...r.success, ...r.failure]) {
    if (!("requestRange" in op) || !op.requestRange.serializable) return false;
  }
  return true;
}

const ZERO_KV: KeyValue = { key: new Uint8Array(0), createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: 0n };

function sign(n: number | bigint): number {
  return n > 0 ? 1 : n < 0 ? -1 : 0;
}

function compareKV(c: Compare, kv: KeyValue): boolean {
  const tu = c.targetUnion;
  let result: number;
  switch (c.target) {
    case "VALUE":
      result = compareBytes(kv.value, "value" in tu ? tu.value : new Uint8Array(0));
      break;
    case "CREATE":
      result = sign(kv.createRevision - ("createRevision" in tu ? tu.createRevision : 0));
      break;
    case "MOD":
      result = sign(kv.modRevision - ("modRevision" in tu ? tu.modRevision : 0));
      break;
    case "VERSION":
      result = sign(kv.version - ("version" in tu ? tu.version : 0));
      break;
    case "LEASE":
      result = sign(kv.lease - ("lease" in tu ? tu.lease : 0n));
      break;
    default:
      result = 0;
  }
  switch (c.result) {
    case "EQUAL":
      return result === 0;
    case "NOT_EQUAL":
      return result !== 0;
    case "GREATER":
      return result > 0;
    case "LESS":
      return result < 0;
    default:
      return true;
  }
}

/** etcd's applyCompare: every key of the range must satisfy it; a missing key compares as zero (VALUE: false). */
export function applyCompare(view: KvView, c: Compare): boolean {
  let kvs: KeyValue[];
  try {
    kvs = view.range(c.key, toRangeEnd(c.rangeEnd), { keysOnly: c.target !== "VALUE" }).kvs;
  } catch {
    return false;
  }
  if (kvs.length === 0) {
    if (c.target === "VALUE") return false;
    return compareKV(c, ZERO_KV);
  }
  for (const kv of kvs) if (!compareKV(c, kv)) return false;
  return true;
}

function branch(r: TxnRequest, succeeded: boolean): RequestOp[] {
  return succeeded ? r.success : r.failure;
}

/** etcd's compareToPath, against the pre-txn view. */
export function compareToPath(view: KvView, r: TxnRequest): TxnPath {
  let succeeded = true;
  for (const c of r.compare) {
    if (!applyCompare(view, c)) {
      succeeded = false;
      break;
    }
  }
  const nested: TxnPath[] = [];
  for (const op of branch(r, succeeded)) if ("requestTxn" in op) nested.push(compareToPath(view, op.requestTxn));
  return { succeeded, nested };
}

function forEachOp(r: TxnRequest, path: TxnPath, f: (op: RequestOp) => void): void {
  let n = 0;
  for (const op of branch(r, path.succeeded)) {
    if ("requestTxn" in op) forEachOp(op.requestTxn, path.nested[n++]!, f);
    else f(op);
  }
}

function covers(key: Uint8Array, rangeEnd: Uint8Array, k: Uint8Array): boolean {
  const end = toRangeEnd(rangeEnd);
  if (end === null) return compareBytes(key, k) === 0;
  if (compareBytes(k, key) < 0) return false;
  return end.length === 0 || compareBytes(k, end) < 0;
}

/**
 * etcd's checkRequests for puts (write txns only) and ranges, on the pre-txn view. One
 * addition: a put with ignore_value / ignore_lease after a delete of its key in the same
 * txn (only a "\0"-ended delete gets past the duplicate-key check) fails with KeyNotFound
 * here; etcd passes the check and then crashes applying it.
 */
export function checkTxnRequests(view: KvView, env: TxnEnv, r: TxnRequest, path: TxnPath, isWrite: boolean): void {
  if (isWrite) {
    const deletes: Array<{ key: Uint8Array; rangeEnd: Uint8Array }> = [];
    forEachOp(r, path, (op) => {
      if ("requestDeleteRange" in op) {
        deletes.push(op.requestDeleteRange);
        return;
      }
      if (!("requestPut" in op)) return;
      const p = op.requestPut;
      if (p.ignoreValue || p.ignoreLease) {
        if (view.range(p.key, null, { keysOnly: true }).kvs.length === 0) throw Errors.KeyNotFound;
        if (deletes.some((d) => covers(d.key, d.rangeEnd, p.key))) throw Errors.KeyNotFound;
      }
      if (p.lease !== 0n && !env.leaseExists(p.lease)) throw Errors.LeaseNotFound;
    });
  }
  forEachOp(r, path, (op) => {
    if (!("requestRange" in op)) return;
    const rev = op.requestRange.revision;
    if (rev === 0) return;
    if (rev > view.rev()) throw Errors.FutureRev;
    if (rev < env.compactRev()) throw Errors.Compacted;
  });
}

/** etcd's applyTxn: runs the ops of the path; nested txn responses carry an empty header. */
export function applyTxnOps(txn: KvWriteView, r: TxnRequest, path: TxnPath): ResponseOp[] {
  const responses: ResponseOp[] = [];
  let n = 0;
  for (const op of branch(r, path.succeeded)) {
    if ("requestRange" in op) responses.push({ responseRange: applyRange(txn, op.requestRange) });
    else if ("requestPut" in op) responses.push({ responsePut: applyPut(txn, op.requestPut) });
    else if ("requestDeleteRange" in op) responses.push({ responseDeleteRange: applyDeleteRange(txn, op.requestDeleteRange) });
    else if ("requestTxn" in op) {
      const p = path.nested[n++]!;
      const nested: TxnResponse = { header: revisionHeader(0), succeeded: p.succeeded, responses: applyTxnOps(txn, op.requestTxn, p) };
      responses.push({ responseTxn: nested });
    }
  }
  return responses;
}
