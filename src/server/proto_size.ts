// Protobuf wire sizes of requests, computed without encoding them. Two limits use them:
// gRPC's receive limit in front of the server (--max-request-bytes + 512 KiB, reported by the
// gateway as ResourceExhausted "grpc: received message larger than max (N vs. M)"), and the
// server's own --max-request-bytes check on the InternalRaftRequest it would propose.

import type { InternalRequest } from "./internal_request.ts";
import type {
  Compare,
  CompactionRequest,
  DeleteRangeRequest,
  LeaseGrantRequest,
  LeaseKeepAliveRequest,
  LeaseRevokeRequest,
  LeaseTimeToLiveRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from "./types.ts";

export function varintSize(v: number | bigint): number {
  let x = BigInt(v);
  if (x < 0n) return 10;
  let n = 1;
  while (x >= 0x80n) {
    x >>= 7n;
    n++;
  }
  return n;
}

const tagSize = (field: number) => varintSize(field << 3);
const intField = (field: number, v: number | bigint) => (BigInt(v) === 0n ? 0 : tagSize(field) + varintSize(v));
const boolField = (field: number, v: boolean) => (v ? tagSize(field) + 1 : 0);
const lenField = (field: number, len: number) => tagSize(field) + varintSize(len) + len;
const bytesField = (field: number, b: Uint8Array) => (b.length === 0 ? 0 : lenField(field, b.length));

const SORT_ORDER = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
const SORT_TARGET = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;
const RESULT = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
const TARGET = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;

export function rangeRequestSize(r: RangeRequest): number {
  return (
    bytesField(1, r.key) +
    bytesField(2, r.rangeEnd) +
    intField(3, r.limit) +
    intField(4, r.revision) +
    intField(5, SORT_ORDER[r.sortOrder]) +
    intField(6, SORT_TARGET[r.sortTarget]) +
    boolField(7, r.serializable) +
    boolField(8, r.keysOnly) +
    boolField(9, r.countOnly) +
    intField(10, r.minModRevision) +
    intField(11, r.maxModRevision) +
    intField(12, r.minCreateRevision) +
    intField(13, r.maxCreateRevision)
  );
}

export function putRequestSize(r: PutRequest): number {
  return (
    bytesField(1, r.key) +
    bytesField(2, r.value) +
    intField(3, r.lease) +
    boolField(4, r.prevKv) +
    boolField(5, r.ignoreValue) +
    boolField(6, r.ignoreLease)
  );
}

export function deleteRangeRequestSize(r: DeleteRangeRequest): number {
  return bytesField(1, r.key) + bytesField(2, r.rangeEnd) + boolField(3, r.prevKv);
}

function compareSize(c: Compare): number {
  let n = intField(1, RESULT[c.result]) + intField(2, TARGET[c.target]) + bytesField(3, c.key);
  const u = c.targetUnion;
  // A oneof member is on the wire even when it holds its zero value.
  if ("version" in u) n += tagSize(4) + varintSize(u.version);
  else if ("createRevision" in u) n += tagSize(5) + varintSize(u.createRevision);
  else if ("modRevision" in u) n += tagSize(6) + varintSize(u.modRevision);
  else if ("value" in u) n += lenField(7, u.value.length);
  else if ("lease" in u) n += tagSize(8) + varintSize(u.lease);
  return n + bytesField(64, c.rangeEnd);
}

function requestOpSize(op: RequestOp): number {
  if ("requestRange" in op) return lenField(1, rangeRequestSize(op.requestRange));
  if ("requestPut" in op) return lenField(2, putRequestSize(op.requestPut));
  if ("requestDeleteRange" in op) return lenField(3, deleteRangeRequestSize(op.requestDeleteRange));
  if ("requestTxn" in op) return lenField(4, txnRequestSize(op.requestTxn));
  return 0;
}

export function txnRequestSize(r: TxnRequest): number {
  let n = 0;
  for (const c of r.compare) n += lenField(1, compareSize(c));
  for (const op of r.success) n += lenField(2, requestOpSize(op));
  for (const op of r.failure) n += lenField(3, requestOpSize(op));
  return n;
}

export const compactionRequestSize = (r: CompactionRequest) => intField(1, r.revision) + boolField(2, r.physical);
export const leaseGrantRequestSize = (r: LeaseGrantRequest) => intField(1, r.TTL) + intField(2, r.ID);
export const leaseRevokeRequestSize = (r: LeaseRevokeRequest) => intField(1, r.ID);
export const leaseTimeToLiveRequestSize = (r: LeaseTimeToLiveRequest) => intField(1, r.ID) + boolField(2, r.keys);
export const leaseLeasesRequestSize = () => 0;
export const leaseKeepAliveRequestSize = (r: LeaseKeepAliveRequest) => intField(1, r.ID);

/** InternalRaftRequest field numbers of the requests etcdo proposes. */
const INTERNAL_FIELD: Record<InternalRequest["op"], number> = {
  put: 4,
  deleteRange: 5,
  txn: 6,
  compaction: 7,
  leaseGrant: 8,
  leaseRevoke: 9,
  leaseCheckpoint: 11,
};

function internalBodySize(r: InternalRequest): number {
  switch (r.op) {
    case "put":
      return putRequestSize(r.request);
    case "deleteRange":
      return deleteRangeRequestSize(r.request);
    case "txn":
      return txnRequestSize(r.request);
    case "compaction":
      return compactionRequestSize(r.request);
    case "leaseGrant":
      return leaseGrantRequestSize(r.request);
    case "leaseRevoke":
      return leaseRevokeRequestSize(r.request);
    default:
      return 0;
  }
}

/**
 * The marshalled size of the InternalRaftRequest etcd would propose for r: its header (field
 * 100: the request ID) and the request itself, the size etcd compares with
 * --max-request-bytes.
 */
export function internalRequestSize(r: InternalRequest): number {
  // etcd's request IDs carry the member ID in their top bits: a 10-byte varint.
  const header = tagSize(1) + 10;
  return lenField(100, header) + lenField(INTERNAL_FIELD[r.op], internalBodySize(r));
}
