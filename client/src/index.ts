// etcd v3 client for etcd's JSON gateway and etcdo: browsers, Node >= 18 and Workers.

export { Etcd, type EtcdOptions } from "./client.ts";
export { type Bytes, prefixEnd, toBase64, fromBase64, toBytes, toText } from "./bytes.ts";
export * from "./errors.ts";
export {
  type CallOptions,
  type FetchFn,
  type RequestOptions,
  type TokenSource,
  Transport,
  type TransportOptions,
  normalizeEndpoint,
} from "./transport.ts";
export { KeyValue, type LeaseId, type LeaseIdLike, type ResponseHeader, leaseIdFromHex, leaseIdString, leaseIdToHex } from "./types.ts";
export {
  type Compare,
  type CompareOp,
  type CompareTarget,
  type CompactOptions,
  type Conn,
  type DeleteOptions,
  type DeleteResult,
  type KeyRangeOptions,
  type Op,
  type PutOptions,
  type PutResult,
  type RangeOptions,
  type RangeResult,
  type ResponseOp,
  type SortOrder,
  type SortTarget,
  TxnBuilder,
  type TxnRequest,
  type TxnResult,
  compact,
  compare,
  deleteRange,
  op,
  put,
  range,
  txn,
} from "./kv.ts";
export { type GrantOptions, type GrantResult, type KeepAliveResult, type LeasesResult, type TimeToLiveResult, grant, keepAliveOnce, leases, revoke, timeToLive } from "./lease.ts";
export { type HealthResult, type Member, type StatusResult, authenticate, health, memberList, status, version } from "./maintenance.ts";
export { type WatchEvent, type WatchOptions, type WatchResponse, Watch, WatchCompactedError, isWatchCompacted, watch, watchStream } from "./watch.ts";
export { type LinkKind, type StreamState, StreamHub } from "./stream.ts";
export { type KeepAliveOptions, LeaseKeeper, keepAlive, lease } from "./keepalive.ts";
export { type HeldLock, type LockOptions, lock } from "./lock.ts";
export { type CampaignOptions, type Leadership, campaign, leader, observe } from "./election.ts";
export { type Isolation, type Stm, type StmOptions, stm } from "./stm.ts";
