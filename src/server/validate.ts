// The checks etcd 3.4 does in its gRPC KV server before proposing (v3rpc/key.go:
// checkRangeRequest, checkPutRequest, checkDeleteRequest, checkTxnRequest, checkIntervals).
// They throw the EtcdError etcd answers with. Request size is checked elsewhere.
//
// etcd 3.4 does not validate sort_order / sort_target here (an unknown value is ignored
// or, for an unknown target with a sort order, crashes the server); the decoder maps
// enum values, so nothing is checked for them.
import { Errors } from "./errors.ts";
import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from "./types.ts";

/** etcd's --max-txn-ops default. */
export const DEFAULT_MAX_TXN_OPS = 128;

export function validateRange(r: RangeRequest): void {
  if (r.key.length === 0) throw Errors.EmptyKey;
}

export function validatePut(r: PutRequest): void {
  if (r.key.length === 0) throw Errors.EmptyKey;
  if (r.ignoreValue && r.value.length !== 0) throw Errors.ValueProvided;
  if (r.ignoreLease && r.lease !== 0n) throw Errors.LeaseProvided;
}

export function validateDeleteRange(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw Errors.EmptyKey;
}

/** Everything etcd checks for a Txn: sizes and keys (recursively), then put/delete overlaps. */
export function validateTxn(r: TxnRequest, maxTxnOps = DEFAULT_MAX_TXN_OPS): void {
  checkTxnRequest(r, maxTxnOps);
  checkIntervals(r.success);
  checkIntervals(r.failure);
}

function checkTxnRequest(r: TxnRequest, maxTxnOps: number): void {
  const opc = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (opc > maxTxnOps) throw Errors.TooManyOps;
  for (const c of r.compare) if (c.key.length === 0) throw Errors.EmptyKey;
  // A nested txn gets what is left of the budget after this level's largest list.
  for (const op of r.success) checkRequestOp(op, maxTxnOps - opc);
  for (const op of r.failure) checkRequestOp(op, maxTxnOps - opc);
}

function checkRequestOp(op: RequestOp, maxTxnOps: number): void {
  if ("requestRange" in op) return validateRange(op.requestRange);
  if ("requestPut" in op) return validatePut(op.requestPut);
  if ("requestDeleteRange" in op) return validateDeleteRange(op.requestDeleteRange);
  if ("requestTxn" in op) return checkTxnRequest(op.requestTxn, maxTxnOps);
  throw Errors.KeyNotFound; // empty RequestOp
}

/** A deleted interval [begin, end); a single-key delete is [key, key + "\0"). */
interface Interval {
  begin: Uint8Array;
  end: Uint8Array;
}

function keyString(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function fromKeyString(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

function cmp(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

// etcd tests a put against its interval tree of deletes. For the intervals that can occur
// that is exactly begin <= key < end in byte order: a range end of "\0" (all keys >= key)
// or an end <= begin covers nothing, so such deletes never conflict with a put.
function covered(dels: Interval[], key: Uint8Array): boolean {
  for (const d of dels) if (cmp(d.begin, key) <= 0 && cmp(key, d.end) < 0) return true;
  return false;
}

/**
 * etcd's checkIntervals: a put may not share a key with another put of the same branch or
 * fall inside a delete of it, across nested txns. The then/else branches of a nested txn
 * may put the same key. Returns the branch's puts and deletes for the enclosing level.
 * (As in etcd, puts of an earlier nested txn are not checked against deletes of a later
 * sibling nested txn.)
 */
function checkIntervals(reqs: RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of reqs) {
    if (!("requestDeleteRange" in op)) continue;
    const d = op.requestDeleteRange;
    const end = d.rangeEnd.length !== 0 ? d.rangeEnd : pointEnd(d.key);
    dels.push({ begin: d.key, end });
  }
  const puts = new Set<string>();
  for (const op of reqs) {
    if (!("requestTxn" in op)) continue;
    const then = checkIntervals(op.requestTxn.success);
    const otherwise = checkIntervals(op.requestTxn.failure);
    for (const k of then.puts) {
      if (puts.has(k) || covered(dels, fromKeyString(k))) throw Errors.DuplicateKey;
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw Errors.DuplicateKey;
      if (covered(dels, fromKeyString(k))) throw Errors.DuplicateKey;
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of reqs) {
    if (!("requestPut" in op)) continue;
    const key = op.requestPut.key;
    const k = keyString(key);
    if (puts.has(k) || covered(dels, key)) throw Errors.DuplicateKey;
    puts.add(k);
  }
  return { puts, dels };
}

function pointEnd(key: Uint8Array): Uint8Array {
  const end = new Uint8Array(key.length + 1);
  end.set(key);
  return end;
}
