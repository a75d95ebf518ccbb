// Response messages written exactly as etcd 3.4's gateway writes them (jsonpb with
// OrigName, EmitDefaults off): proto field names in declaration order, zero values and empty
// lists left out, a present sub-message written even when empty ("header":{}), 64-bit
// integers as decimal strings, bytes as padded standard base64, enums by name.

import type {
  CompactionResponse,
  DeleteRangeResponse,
  KeyValue,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  PutResponse,
  RangeResponse,
  ResponseHeader,
  ResponseOp,
  TxnResponse,
} from "../../server/types.ts";
import { toBase64 } from "../../util/bytes.ts";
import { goJsonString } from "./gojson.ts";

/** Collects `"name":value` pairs of one JSON object, skipping defaults. */
export class Obj {
  private parts: string[] = [];
  int(name: string, v: number | bigint): this {
    if (typeof v === "bigint" ? v !== 0n : v !== 0) this.parts.push(`"${name}":"${intText(v)}"`);
    return this;
  }
  bool(name: string, v: boolean): this {
    if (v) this.parts.push(`"${name}":true`);
    return this;
  }
  bytes(name: string, v: Uint8Array): this {
    if (v.length > 0) this.parts.push(`"${name}":"${toBase64(v)}"`);
    return this;
  }
  string(name: string, v: string): this {
    if (v !== "") this.parts.push(`"${name}":${goJsonString(v)}`);
    return this;
  }
  msg(name: string, json: string | undefined): this {
    if (json !== undefined) this.parts.push(`"${name}":${json}`);
    return this;
  }
  list(name: string, items: string[]): this {
    if (items.length > 0) this.parts.push(`"${name}":[${items.join(",")}]`);
    return this;
  }
  toString(): string {
    return `{${this.parts.join(",")}}`;
  }
}

function intText(v: number | bigint): string {
  if (typeof v === "bigint") return v.toString();
  return Number.isSafeInteger(v) ? String(v) : BigInt(Math.trunc(v)).toString();
}

export function encodeHeader(h: ResponseHeader | undefined): string | undefined {
  if (!h) return undefined;
  return new Obj()
    .int("cluster_id", h.clusterId)
    .int("member_id", h.memberId)
    .int("revision", h.revision)
    .int("raft_term", h.raftTerm)
    .toString();
}

export function encodeKeyValue(kv: KeyValue): string {
  return new Obj()
    .bytes("key", kv.key)
    .int("create_revision", kv.createRevision)
    .int("mod_revision", kv.modRevision)
    .int("version", kv.version)
    .bytes("value", kv.value)
    .int("lease", kv.lease)
    .toString();
}

export function encodeRangeResponse(r: RangeResponse): string {
  return new Obj()
    .msg("header", encodeHeader(r.header))
    .list("kvs", r.kvs.map(encodeKeyValue))
    .bool("more", r.more)
    .int("count", r.count)
    .toString();
}

export function encodePutResponse(r: PutResponse): string {
  return new Obj()
    .msg("header", encodeHeader(r.header))
    .msg("prev_kv", r.prevKv && encodeKeyValue(r.prevKv))
    .toString();
}

export function encodeDeleteRangeResponse(r: DeleteRangeResponse): string {
  return new Obj()
    .msg("header", encodeHeader(r.header))
    .int("deleted", r.deleted)
    .list("prev_kvs", r.prevKvs.map(encodeKeyValue))
    .toString();
}

function encodeResponseOp(op: ResponseOp): string {
  const o = new Obj();
  if ("responseRange" in op) o.msg("response_range", encodeRangeResponse(op.responseRange));
  else if ("responsePut" in op) o.msg("response_put", encodePutResponse(op.responsePut));
  else if ("responseDeleteRange" in op) o.msg("response_delete_range", encodeDeleteRangeResponse(op.responseDeleteRange));
  else if ("responseTxn" in op) o.msg("response_txn", encodeTxnResponse(op.responseTxn));
  return o.toString();
}

export function encodeTxnResponse(r: TxnResponse): string {
  return new Obj()
    .msg("header", encodeHeader(r.header))
    .bool("succeeded", r.succeeded)
    .list("responses", r.responses.map(encodeResponseOp))
    .toString();
}

export function encodeCompactionResponse(r: CompactionResponse): string {
  return new Obj().msg("header", encodeHeader(r.header)).toString();
}

export function encodeLeaseGrantResponse(r: LeaseGrantResponse): string {
  return new Obj()
    .msg("header", encodeHeader(r.header))
    .int("ID", r.ID)
    .int("TTL", r.TTL)
    .string("error", r.error)
    .toString();
}

export function encodeLeaseRevokeResponse(r: LeaseRevokeResponse): string {
  return new Obj().msg("header", encodeHeader(r.header)).toString();
}

export function encodeLeaseTimeToLiveResponse(r: LeaseTimeToLiveResponse): string {
  return new Obj()
    .msg("header", encodeHeader(r.header))
    .int("ID", r.ID)
    .int("TTL", r.TTL)
    .int("grantedTTL", r.grantedTTL)
    .list("keys", r.keys.map((k) => `"${toBase64(k)}"`))
    .toString();
}

export function encodeLeaseLeasesResponse(r: LeaseLeasesResponse): string {
  return new Obj()
    .msg("header", encodeHeader(r.header))
    .list("leases", r.leases.map((l) => new Obj().int("ID", l.ID).toString()))
    .toString();
}

export function encodeLeaseKeepAliveResponse(r: LeaseKeepAliveResponse): string {
  return new Obj().msg("header", encodeHeader(r.header)).int("ID", r.ID).int("TTL", r.TTL).toString();
}
