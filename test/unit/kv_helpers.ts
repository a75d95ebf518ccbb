// Request builders with proto3 defaults, for the apply-layer tests.
import { openMemoryDb } from "../support/node-sqlite.ts";
import { Applier, type ApplierOptions, type ApplyResult } from "../../src/server/applier.ts";
import { encodeInternalRequest, type InternalRequest } from "../../src/server/internal_request.ts";
import type {
  Compare,
  CompareResult,
  CompareTarget,
  CompareTargetUnion,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from "../../src/server/types.ts";
import { utf8 } from "../../src/util/bytes.ts";

export const b = (s: string): Uint8Array => utf8(s);
export const ZERO = new Uint8Array([0]);

export function rangeReq(key: Uint8Array | string, over: Partial<RangeRequest> = {}): RangeRequest {
  return {
    key: typeof key === "string" ? b(key) : key,
    rangeEnd: new Uint8Array(0),
    limit: 0,
    revision: 0,
    sortOrder: "NONE",
    sortTarget: "KEY",
    serializable: false,
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
    ...over,
  };
}

export function putReq(key: Uint8Array | string, value: Uint8Array | string, over: Partial<PutRequest> = {}): PutRequest {
  return {
    key: typeof key === "string" ? b(key) : key,
    value: typeof value === "string" ? b(value) : value,
    lease: 0n,
    prevKv: false,
    ignoreValue: false,
    ignoreLease: false,
    ...over,
  };
}

export function delReq(key: Uint8Array | string, over: Partial<DeleteRangeRequest> = {}): DeleteRangeRequest {
  return { key: typeof key === "string" ? b(key) : key, rangeEnd: new Uint8Array(0), prevKv: false, ...over };
}

export function cmp(key: string, target: CompareTarget, result: CompareResult, tu: CompareTargetUnion, rangeEnd = ""): Compare {
  return { key: b(key), target, result, targetUnion: tu, rangeEnd: b(rangeEnd) };
}

export function txnReq(compare: Compare[], success: RequestOp[], failure: RequestOp[] = []): TxnRequest {
  return { compare, success, failure };
}

export const opPut = (k: string, v: string, over: Partial<PutRequest> = {}): RequestOp => ({ requestPut: putReq(k, v, over) });
export const opGet = (k: string, over: Partial<RangeRequest> = {}): RequestOp => ({ requestRange: rangeReq(k, over) });
export const opDel = (k: string, over: Partial<DeleteRangeRequest> = {}): RequestOp => ({ requestDeleteRange: delReq(k, over) });
export const opTxn = (t: TxnRequest): RequestOp => ({ requestTxn: t });

export const str = (u: Uint8Array): string => new TextDecoder().decode(u);

/** An Applier on a fresh in-memory database that numbers its entries itself. */
export class TestMember {
  readonly db = openMemoryDb();
  readonly applier: Applier;
  index = 0;
  nowMs = 1_000_000;

  constructor(opts: Partial<ApplierOptions> = {}) {
    this.applier = new Applier(this.db, { minLeaseTtlSeconds: 2, ...opts });
  }

  propose(r: InternalRequest): ApplyResult {
    this.index++;
    const res = this.applier.apply({ index: this.index, term: 1, data: encodeInternalRequest(r) }, this.nowMs);
    if (!res) throw new Error("no result");
    return res;
  }

  /** Applies and returns the response, throwing the apply error (like a client sees it). */
  ok<T = unknown>(r: InternalRequest): T {
    const res = this.propose(r);
    if (res.error) throw res.error;
    return res.response as T;
  }

  put(k: string, v: string, over: Partial<PutRequest> = {}) {
    return this.ok<import("../../src/server/types.ts").PutResponse>({ op: "put", id: this.index + 1, request: putReq(k, v, over) });
  }
  del(k: string, over: Partial<DeleteRangeRequest> = {}) {
    return this.ok<import("../../src/server/types.ts").DeleteRangeResponse>({ op: "deleteRange", id: this.index + 1, request: delReq(k, over) });
  }
  txn(t: TxnRequest) {
    return this.ok<import("../../src/server/types.ts").TxnResponse>({ op: "txn", id: this.index + 1, request: t });
  }
  get(k: string | Uint8Array, over: Partial<RangeRequest> = {}) {
    return this.applier.range(rangeReq(k, over));
  }
  compact(revision: number, physical = false) {
    return this.ok({ op: "compaction", id: this.index + 1, request: { revision, physical } });
  }
  grant(ID: bigint, TTL: number) {
    return this.ok<import("../../src/server/types.ts").LeaseGrantResponse>({ op: "leaseGrant", id: this.index + 1, request: { ID, TTL } });
  }
  revoke(ID: bigint) {
    return this.ok<import("../../src/server/types.ts").LeaseRevokeResponse>({ op: "leaseRevoke", id: this.index + 1, request: { ID } });
  }
  rev(): number {
    return this.applier.revision();
  }
}
