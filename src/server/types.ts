// etcd v3 messages (etcdserverpb / mvccpb) as etcdo's internal values.
//
// Conventions:
// - Field names are the proto names in lowerCamelCase, except where the proto itself is
//   mixed-case (ID, TTL, grantedTTL) which stay as written.
// - Decoded requests are complete: every field holds its proto3 default when absent
//   (empty bytes, 0, false, first enum name), so server code never checks for undefined.
// - bytes → Uint8Array; int64 revisions/counters → number (they stay below 2^53);
//   64-bit identifiers (lease IDs, cluster/member IDs) → bigint.
// - Optional message fields (prevKv, header of nested responses) are `?`.

export type Bytes = Uint8Array;

export interface ResponseHeader {
  clusterId: bigint;
  memberId: bigint;
  revision: number;
  raftTerm: number;
}

export interface KeyValue {
  key: Bytes;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Bytes;
  lease: bigint;
}

export type EventType = "PUT" | "DELETE";
export interface Event {
  type: EventType;
  kv: KeyValue;
  prevKv?: KeyValue;
}

export type SortOrder = "NONE" | "ASCEND" | "DESCEND";
export type SortTarget = "KEY" | "VERSION" | "CREATE" | "MOD" | "VALUE";

export interface RangeRequest {
  key: Bytes;
  rangeEnd: Bytes;
  limit: number;
  revision: number;
  sortOrder: SortOrder;
  sortTarget: SortTarget;
  serializable: boolean;
  keysOnly: boolean;
  countOnly: boolean;
  minModRevision: number;
  maxModRevision: number;
  minCreateRevision: number;
  maxCreateRevision: number;
}
export interface RangeResponse {
  header?: ResponseHeader;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface PutRequest {
  key: Bytes;
  value: Bytes;
  lease: bigint;
  prevKv: boolean;
  ignoreValue: boolean;
  ignoreLease: boolean;
}
export interface PutResponse {
  header?: ResponseHeader;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Bytes;
  rangeEnd: Bytes;
  prevKv: boolean;
}
export interface DeleteRangeResponse {
  header?: ResponseHeader;
  deleted: number;
  prevKvs: KeyValue[];
}

export type CompareResult = "EQUAL" | "GREATER" | "LESS" | "NOT_EQUAL";
export type CompareTarget = "VERSION" | "CREATE" | "MOD" | "VALUE" | "LEASE";

/** The oneof target_union: exactly the member that was set on the wire, or none. */
export type CompareTargetUnion =
  | { version: number }
  | { createRevision: number }
  | { modRevision: number }
  | { value: Bytes }
  | { lease: bigint }
  | Record<string, never>;

export interface Compare {
  result: CompareResult;
  target: CompareTarget;
  key: Bytes;
  rangeEnd: Bytes;
  targetUnion: CompareTargetUnion;
}

/** oneof request: none set is a valid wire message (etcd answers "key not found"). */
export type RequestOp =
  | { requestRange: RangeRequest }
  | { requestPut: PutRequest }
  | { requestDeleteRange: DeleteRangeRequest }
  | { requestTxn: TxnRequest }
  | Record<string, never>;

export type ResponseOp =
  | { responseRange: RangeResponse }
  | { responsePut: PutResponse }
  | { responseDeleteRange: DeleteRangeResponse }
  | { responseTxn: TxnResponse };

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}
export interface TxnResponse {
  header?: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionRequest {
  revision: number;
  physical: boolean;
}
export interface CompactionResponse {
  header?: ResponseHeader;
}

export interface LeaseGrantRequest {
  TTL: number;
  ID: bigint;
}
export interface LeaseGrantResponse {
  header?: ResponseHeader;
  ID: bigint;
  TTL: number;
  error: string;
}
export interface LeaseRevokeRequest {
  ID: bigint;
}
export interface LeaseRevokeResponse {
  header?: ResponseHeader;
}
export interface LeaseTimeToLiveRequest {
  ID: bigint;
  keys: boolean;
}
export interface LeaseTimeToLiveResponse {
  header?: ResponseHeader;
  ID: bigint;
  TTL: number;
  grantedTTL: number;
  keys: Bytes[];
}
export interface LeaseLeasesRequest {}
export interface LeaseStatus {
  ID: bigint;
}
export interface LeaseLeasesResponse {
  header?: ResponseHeader;
  leases: LeaseStatus[];
}
export interface LeaseKeepAliveRequest {
  ID: bigint;
}
export interface LeaseKeepAliveResponse {
  header?: ResponseHeader;
  ID: bigint;
  TTL: number;
}
