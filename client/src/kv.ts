// KV service: range, put, delete, txn (with nested txns and every compare target), compact.
// Request builders are plain functions so a bundle only carries what it calls. Keys are
// prefixed with the connection's namespace on the way out and stripped on the way back,
// like clientv3's namespace wrapper.

import { type Bytes, concatBytes, prefixEnd, toBase64, toBytes } from "./bytes.ts";
import type { CallOptions, Transport } from "./transport.ts";
import {
  type KeyValue,
  type LeaseIdLike,
  type RawHeader,
  type RawKv,
  type ResponseHeader,
  decodeHeader,
  decodeKv,
  leaseIdString,
  num,
} from "./types.ts";

/** A transport plus the namespace (key prefix) every key is relative to. */
export interface Conn {
  transport: Transport;
  prefix: Uint8Array;
}

// ---------------------------------------------------------------- ranges

export interface KeyRangeOptions {
  /** End of the half-open range [key, rangeEnd). "\0" means "every key >= key". */
  rangeEnd?: Bytes;
  /** Every key starting with `key`. */
  prefix?: boolean;
  /** Every key >= `key`. */
  fromKey?: boolean;
}

export type SortTarget = "KEY" | "VERSION" | "CREATE" | "MOD" | "VALUE";
export type SortOrder = "NONE" | "ASCEND" | "DESCEND";

export interface RangeOptions extends KeyRangeOptions {
  revision?: number;
  limit?: number;
  sortTarget?: SortTarget;
  sortOrder?: SortOrder;
  keysOnly?: boolean;
  countOnly?: boolean;
  serializable?: boolean;
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
}

export interface RangeResult {
  header: ResponseHeader;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

const ZERO = new Uint8Array([0]);
const isZeroByte = (b: Uint8Array) => b.length === 1 && b[0] === 0;

/** The [key, range_end) actually sent, with the namespace applied (clientv3 prefixInterval). */
export function keyRange(ns: Uint8Array, key: Bytes, o: KeyRangeOptions): { key: Uint8Array; end?: Uint8Array } {
  let k = concatBytes(ns, toBytes(key));
  const nsEnd = () => (ns.length > 0 ? prefixEnd(ns) : ZERO);
  if (o.prefix) {
    const end = k.length === 0 ? ZERO : prefixEnd(k);
    if (k.length === 0) k = ZERO;
    return { key: k, end };
  }
  if (o.fromKey) {
    if (k.length === 0) k = ZERO;
    return { key: k, end: nsEnd() };
  }
  if (o.rangeEnd !== undefined) {
    const e = toBytes(o.rangeEnd);
    if (isZeroByte(e)) return { key: k, end: nsEnd() };
    if (e.length === 0) return { key: k };
    return { key: k, end: concatBytes(ns, e) };
  }
  return { key: k };
}

function setInt(o: Record<string, unknown>, name: string, v: number | undefined): void {
  if (v !== undefined && v !== 0) o[name] = String(Math.trunc(v));
}

export function encodeRange(ns: Uint8Array, key: Bytes, o: RangeOptions = {}): Record<string, unknown> {
  const r = keyRange(ns, key, o);
  const req: Record<string, unknown> = { key: toBase64(r.key) };
  if (r.end) req.range_end = toBase64(r.end);
  setInt(req, "limit", o.limit);
  setInt(req, "revision", o.revision);
  let order = o.sortOrder ?? "NONE";
  const target = o.sortTarget ?? "KEY";
  // The server returns keys in ascending key order anyway; asking for it would make it
  // fetch the whole range before applying the limit (clientv3.WithSort does the same).
  if (target === "KEY" && order === "ASCEND") order = "NONE";
  if (order !== "NONE") req.sort_order = order;
  if (target !== "KEY") req.sort_target = target;
  if (o.serializable) req.serializable = true;
  if (o.keysOnly) req.keys_only = true;
  if (o.countOnly) req.count_only = true;
  setInt(req, "min_mod_revision", o.minModRevision);
  setInt(req, "max_mod_revision", o.maxModRevision);
  setInt(req, "min_create_revision", o.minCreateRevision);
  setInt(req, "max_create_revision", o.maxCreateRevision);
  return req;
}

type RawRange = { header?: RawHeader; kvs?: RawKv[]; more?: boolean; count?: string };

export function decodeRange(r: RawRange, ns: Uint8Array): RangeResult {
  return { header: decodeHeader(r.header), kvs: (r.kvs ?? []).map((kv) => decodeKv(kv, ns)), more: r.more ?? false, count: num(r.count) };
}

export async function range(c: Conn, key: Bytes, o: RangeOptions & CallOptions = {}): Promise<RangeResult> {
  const raw = await c.transport.request<RawRange>("/v3/kv/range", encodeRange(c.prefix, key, o), { ...o, idempotent: true });
  return decodeRange(raw, c.prefix);
}

// ---------------------------------------------------------------- put

export interface PutOptions {
  lease?: LeaseIdLike;
  prevKv?: boolean;
  /** Keep the current value (the value argument must be empty). */
  ignoreValue?: boolean;
  /** Keep the current lease. */
  ignoreLease?: boolean;
}

export interface PutResult {
  header: ResponseHeader;
  prevKv: KeyValue | null;
}

export function encodePut(ns: Uint8Array, key: Bytes, value: Bytes, o: PutOptions = {}): Record<string, unknown> {
  const req: Record<string, unknown> = { key: toBase64(concatBytes(ns, toBytes(key))) };
  const v = toBytes(value);
  if (v.length > 0) req.value = toBase64(v);
  if (o.lease !== undefined) {
    const l = leaseIdString(o.lease);
    if (l !== "0") req.lease = l;
  }
  if (o.prevKv) req.prev_kv = true;
  if (o.ignoreValue) req.ignore_value = true;
  if (o.ignoreLease) req.ignore_lease = true;
  return req;
}

type RawPut = { header?: RawHeader; prev_kv?: RawKv };

export function decodePut(r: RawPut, ns: Uint8Array): PutResult {
  return { header: decodeHeader(r.header), prevKv: r.prev_kv ? decodeKv(r.prev_kv, ns) : null };
}

export async function put(c: Conn, key: Bytes, value: Bytes, o: PutOptions & CallOptions = {}): Promise<PutResult> {
  const raw = await c.transport.request<RawPut>("/v3/kv/put", encodePut(c.prefix, key, value, o), o);
  return decodePut(raw, c.prefix);
}

// ---------------------------------------------------------------- delete

export interface DeleteOptions extends KeyRangeOptions {
  prevKv?: boolean;
}

export interface DeleteResult {
  header: ResponseHeader;
  deleted: number;
  prevKvs: KeyValue[];
}

export function encodeDelete(ns: Uint8Array, key: Bytes, o: DeleteOptions = {}): Record<string, unknown> {
  const r = keyRange(ns, key, o);
  const req: Record<string, unknown> = { key: toBase64(r.key) };
  if (r.end) req.range_end = toBase64(r.end);
  if (o.prevKv) req.prev_kv = true;
  return req;
}

type RawDelete = { header?: RawHeader; deleted?: string; prev_kvs?: RawKv[] };

export function decodeDelete(r: RawDelete, ns: Uint8Array): DeleteResult {
  return { header: decodeHeader(r.header), deleted: num(r.deleted), prevKvs: (r.prev_kvs ?? []).map((kv) => decodeKv(kv, ns)) };
}

export async function deleteRange(c: Conn, key: Bytes, o: DeleteOptions & CallOptions = {}): Promise<DeleteResult> {
  const raw = await c.transport.request<RawDelete>("/v3/kv/deleterange", encodeDelete(c.prefix, key, o), o);
  return decodeDelete(raw, c.prefix);
}

// ---------------------------------------------------------------- compact

export interface CompactOptions {
  /** Wait until the compaction is physically applied to the backend. */
  physical?: boolean;
}

export async function compact(c: Conn, revision: number, o: CompactOptions & CallOptions = {}): Promise<{ header: ResponseHeader }> {
  const req: Record<string, unknown> = {};
  setInt(req, "revision", revision);
  if (o.physical) req.physical = true;
  const raw = await c.transport.request<{ header?: RawHeader }>("/v3/kv/compaction", req, o);
  return { header: decodeHeader(raw.header) };
}

// ---------------------------------------------------------------- txn

export type CompareTarget = "VERSION" | "CREATE" | "MOD" | "VALUE" | "LEASE";
export type CompareOp = "=" | "==" | "!=" | "<" | ">";
const RESULT: Record<CompareOp, string> = { "=": "EQUAL", "==": "EQUAL", "!=": "NOT_EQUAL", "<": "LESS", ">": "GREATER" };

/** One guard of a transaction: `target(key) op operand`, over one key or a whole range. */
export interface Compare {
  target: CompareTarget;
  key: Bytes;
  op: CompareOp;
  operand: number | Bytes | LeaseIdLike;
  range?: KeyRangeOptions;
}

function cmp(target: CompareTarget) {
  return (key: Bytes, op: CompareOp, operand: number | Bytes | LeaseIdLike, range?: KeyRangeOptions): Compare => {
    if (!(op in RESULT)) throw new RangeError(`unknown compare operator ${JSON.stringify(op)}`);
    return { target, key, op, operand, ...(range ? { range } : {}) };
  };
}

/** Compare builders, as clientv3's Compare(Version(k), "=", 0) and friends. */
export const compare = {
  version: cmp("VERSION") as (key: Bytes, op: CompareOp, version: number, range?: KeyRangeOptions) => Compare,
  createRevision: cmp("CREATE") as (key: Bytes, op: CompareOp, revision: number, range?: KeyRangeOptions) => Compare,
  modRevision: cmp("MOD") as (key: Bytes, op: CompareOp, revision: number, range?: KeyRangeOptions) => Compare,
  value: cmp("VALUE") as (key: Bytes, op: CompareOp, value: Bytes, range?: KeyRangeOptions) => Compare,
  lease: cmp("LEASE") as (key: Bytes, op: CompareOp, lease: LeaseIdLike, range?: KeyRangeOptions) => Compare,
} as const;

export function encodeCompare(ns: Uint8Array, c: Compare): Record<string, unknown> {
  const r = keyRange(ns, c.key, c.range ?? {});
  const out: Record<string, unknown> = { result: RESULT[c.op], target: c.target, key: toBase64(r.key) };
  switch (c.target) {
    case "VERSION":
      out.version = String(c.operand);
      break;
    case "CREATE":
      out.create_revision = String(c.operand);
      break;
    case "MOD":
      out.mod_revision = String(c.operand);
      break;
    case "VALUE":
      out.value = toBase64(toBytes(c.operand as Bytes));
      break;
    case "LEASE":
      out.lease = leaseIdString(c.operand as LeaseIdLike);
      break;
  }
  if (r.end) out.range_end = toBase64(r.end);
  return out;
}

/** A request inside a transaction branch. */
export type Op =
  | { type: "range"; key: Bytes; options: RangeOptions }
  | { type: "put"; key: Bytes; value: Bytes; options: PutOptions }
  | { type: "delete"; key: Bytes; options: DeleteOptions }
  | { type: "txn"; txn: TxnRequest };

export const op = {
  get: (key: Bytes, options: RangeOptions = {}): Op => ({ type: "range", key, options }),
  put: (key: Bytes, value: Bytes, options: PutOptions = {}): Op => ({ type: "put", key, value, options }),
  putJson: (key: Bytes, value: unknown, options: PutOptions = {}): Op => ({ type: "put", key, value: JSON.stringify(value), options }),
  delete: (key: Bytes, options: DeleteOptions = {}): Op => ({ type: "delete", key, options }),
  /** A nested transaction (etcd 3.3+): give a TxnBuilder or a plain request. */
  txn: (t: TxnRequest | { toRequest(): TxnRequest }): Op => ({ type: "txn", txn: "toRequest" in t ? t.toRequest() : t }),
} as const;

export interface TxnRequest {
  compare: Compare[];
  success: Op[];
  failure: Op[];
}

export function encodeOp(ns: Uint8Array, o: Op): Record<string, unknown> {
  switch (o.type) {
    case "range":
      return { request_range: encodeRange(ns, o.key, o.options) };
    case "put":
      return { request_put: encodePut(ns, o.key, o.value, o.options) };
    case "delete":
      return { request_delete_range: encodeDelete(ns, o.key, o.options) };
    case "txn":
      return { request_txn: encodeTxn(ns, o.txn) };
  }
}

export function encodeTxn(ns: Uint8Array, t: TxnRequest): Record<string, unknown> {
  const req: Record<string, unknown> = {};
  if (t.compare.length) req.compare = t.compare.map((c) => encodeCompare(ns, c));
  if (t.success.length) req.success = t.success.map((o) => encodeOp(ns, o));
  if (t.failure.length) req.failure = t.failure.map((o) => encodeOp(ns, o));
  return req;
}

export type ResponseOp =
  | { type: "range"; range: RangeResult }
  | { type: "put"; put: PutResult }
  | { type: "delete"; delete: DeleteResult }
  | { type: "txn"; txn: TxnResult };

export interface TxnResult {
  header: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

type RawResponseOp = { response_range?: RawRange; response_put?: RawPut; response_delete_range?: RawDelete; response_txn?: RawTxn };
type RawTxn = { header?: RawHeader; succeeded?: boolean; responses?: RawResponseOp[] };

export function decodeTxn(r: RawTxn, ns: Uint8Array): TxnResult {
  return {
    header: decodeHeader(r.header),
    succeeded: r.succeeded ?? false,
    responses: (r.responses ?? []).map((x): ResponseOp => {
      if (x.response_range) return { type: "range", range: decodeRange(x.response_range, ns) };
      if (x.response_put) return { type: "put", put: decodePut(x.response_put, ns) };
      if (x.response_delete_range) return { type: "delete", delete: decodeDelete(x.response_delete_range, ns) };
      if (x.response_txn) return { type: "txn", txn: decodeTxn(x.response_txn, ns) };
      throw new TypeError(`unknown txn response op: ${JSON.stringify(x)}`);
    }),
  };
}

export async function txn(c: Conn, t: TxnRequest, o: CallOptions = {}): Promise<TxnResult> {
  const readOnly = t.success.concat(t.failure).every(isReadOnly);
  const raw = await c.transport.request<RawTxn>("/v3/kv/txn", encodeTxn(c.prefix, t), { ...o, idempotent: readOnly });
  return decodeTxn(raw, c.prefix);
}

function isReadOnly(o: Op): boolean {
  return o.type === "range" || (o.type === "txn" && o.txn.success.concat(o.txn.failure).every(isReadOnly));
}

/**
 * `txn().if(...).then(...).else(...).commit()`, as clientv3's Txn. Each of if/then/else may be
 * called once, in that order; commit needs a connection (builders made by a client have one).
 */
export class TxnBuilder {
  private readonly conn: Conn | undefined;
  private readonly req: TxnRequest = { compare: [], success: [], failure: [] };
  private stage = 0;

  constructor(conn?: Conn) {
    this.conn = conn;
  }

  if(...compares: Compare[]): this {
    this.advance(1, "if");
    this.req.compare.push(...compares);
    return this;
  }

  then(...ops: Op[]): this;
  then(...args: unknown[]): unknown {
    // A builder with a then() method is a "thenable": if one is awaited by mistake, the
    // runtime calls then(resolve, reject). Commit in that case instead of adding functions
    // as ops (commit() is the typed way).
    if (args.length > 0 && (typeof args[0] === "function" || args[0] == null) && args.every((a) => a == null || typeof a === "function")) {
      return this.commit().then(args[0] as (r: TxnResult) => unknown, args[1] as (e: unknown) => unknown);
    }
    const ops = args as Op[];
    this.advance(2, "then");
    this.req.success.push(...ops);
    return this;
  }

  else(...ops: Op[]): this {
    this.advance(3, "else");
    this.req.failure.push(...ops);
    return this;
  }

  toRequest(): TxnRequest {
    return { compare: [...this.req.compare], success: [...this.req.success], failure: [...this.req.failure] };
  }

  commit(o: CallOptions = {}): Promise<TxnResult> {
    if (!this.conn) throw new TypeError("this transaction has no client; use client.txn() or op.txn() to nest it");
    return txn(this.conn, this.toRequest(), o);
  }

  private advance(to: number, name: string): void {
    if (this.stage >= to) throw new TypeError(`txn: ${name}() called after ${["", "if", "then", "else"][this.stage]}()`);
    this.stage = to;
  }
}
