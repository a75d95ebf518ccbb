// Request messages of the KV and Lease services: descriptors in etcd 3.4's rpc.proto
// declaration order, and the conversion of decoded JSON into etcdo's request values.

import { Errors } from "../../server/errors.ts";
import type {
  Compare,
  CompareResult,
  CompareTarget,
  CompareTargetUnion,
  CompactionRequest,
  DeleteRangeRequest,
  LeaseGrantRequest,
  LeaseKeepAliveRequest,
  LeaseLeasesRequest,
  LeaseRevokeRequest,
  LeaseTimeToLiveRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  SortOrder,
  SortTarget,
  TxnRequest,
} from "../../server/types.ts";
import { EtcdError, GrpcCode } from "../../server/errors.ts";
import type { DecodedMessage, EnumDesc, FieldDesc, MessageDesc, Value } from "./jsonpb.ts";

const f = (name: string, json: string, type: FieldDesc["type"], repeated = false): FieldDesc =>
  repeated ? { name, json, type, repeated } : { name, json, type };

const SORT_ORDER: EnumDesc = { goType: "etcdserverpb.RangeRequest_SortOrder", names: ["NONE", "ASCEND", "DESCEND"] };
const SORT_TARGET: EnumDesc = {
  goType: "etcdserverpb.RangeRequest_SortTarget",
  names: ["KEY", "VERSION", "CREATE", "MOD", "VALUE"],
};
const COMPARE_RESULT: EnumDesc = {
  goType: "etcdserverpb.Compare_CompareResult",
  names: ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"],
};
const COMPARE_TARGET: EnumDesc = {
  goType: "etcdserverpb.Compare_CompareTarget",
  names: ["VERSION", "CREATE", "MOD", "VALUE", "LEASE"],
};

export const RangeRequestDesc: MessageDesc = {
  items: [
    f("key", "key", "bytes"),
    f("range_end", "rangeEnd", "bytes"),
    f("limit", "limit", "int64"),
    f("revision", "revision", "int64"),
    f("sort_order", "sortOrder", { enum: SORT_ORDER }),
    f("sort_target", "sortTarget", { enum: SORT_TARGET }),
    f("serializable", "serializable", "bool"),
    f("keys_only", "keysOnly", "bool"),
    f("count_only", "countOnly", "bool"),
    f("min_mod_revision", "minModRevision", "int64"),
    f("max_mod_revision", "maxModRevision", "int64"),
    f("min_create_revision", "minCreateRevision", "int64"),
    f("max_create_revision", "maxCreateRevision", "int64"),
  ],
};

export const PutRequestDesc: MessageDesc = {
  items: [
    f("key", "key", "bytes"),
    f("value", "value", "bytes"),
    f("lease", "lease", "int64"),
    f("prev_kv", "prevKv", "bool"),
    f("ignore_value", "ignoreValue", "bool"),
    f("ignore_lease", "ignoreLease", "bool"),
  ],
};

export const DeleteRangeRequestDesc: MessageDesc = {
  items: [f("key", "key", "bytes"), f("range_end", "rangeEnd", "bytes"), f("prev_kv", "prevKv", "bool")],
};

export const CompareDesc: MessageDesc = {
  items: [
    f("result", "result", { enum: COMPARE_RESULT }),
    f("target", "target", { enum: COMPARE_TARGET }),
    f("key", "key", "bytes"),
    {
      oneof: "target_union",
      goType: "etcdserverpb.isCompare_TargetUnion",
      members: [
        f("version", "version", "int64"),
        f("create_revision", "createRevision", "int64"),
        f("mod_revision", "modRevision", "int64"),
        f("value", "value", "bytes"),
        f("lease", "lease", "int64"),
      ],
    },
    f("range_end", "rangeEnd", "bytes"),
  ],
};

export const RequestOpDesc: MessageDesc = {
  items: [
    {
      oneof: "request",
      goType: "etcdserverpb.isRequestOp_Request",
      members: [
        f("request_range", "requestRange", { message: () => RangeRequestDesc }),
        f("request_put", "requestPut", { message: () => PutRequestDesc }),
        f("request_delete_range", "requestDeleteRange", { message: () => DeleteRangeRequestDesc }),
        f("request_txn", "requestTxn", { message: () => TxnRequestDesc }),
      ],
    },
  ],
};

export const TxnRequestDesc: MessageDesc = {
  items: [
    f("compare", "compare", { message: () => CompareDesc }, true),
    f("success", "success", { message: () => RequestOpDesc }, true),
    f("failure", "failure", { message: () => RequestOpDesc }, true),
  ],
};

export const CompactionRequestDesc: MessageDesc = {
  items: [f("revision", "revision", "int64"), f("physical", "physical", "bool")],
};

export const LeaseGrantRequestDesc: MessageDesc = { items: [f("TTL", "TTL", "int64"), f("ID", "ID", "int64")] };
export const LeaseRevokeRequestDesc: MessageDesc = { items: [f("ID", "ID", "int64")] };
export const LeaseTimeToLiveRequestDesc: MessageDesc = { items: [f("ID", "ID", "int64"), f("keys", "keys", "bool")] };
export const LeaseLeasesRequestDesc: MessageDesc = { items: [] };
export const LeaseKeepAliveRequestDesc: MessageDesc = { items: [f("ID", "ID", "int64")] };

// --- decoded JSON → etcdo values -------------------------------------------------------

const EMPTY = new Uint8Array(0);

const bytesOf = (m: DecodedMessage, name: string): Uint8Array => (m.fields.get(name) as Uint8Array | undefined) ?? EMPTY;
const boolOf = (m: DecodedMessage, name: string): boolean => (m.fields.get(name) as boolean | undefined) ?? false;
const bigOf = (m: DecodedMessage, name: string): bigint => (m.fields.get(name) as bigint | undefined) ?? 0n;
const numOf = (m: DecodedMessage, name: string): number => Number(bigOf(m, name));
const enumOf = (m: DecodedMessage, name: string): number => (m.fields.get(name) as number | undefined) ?? 0;

export function toRangeRequest(m: DecodedMessage): RangeRequest {
  const key = bytesOf(m, "key");
  const order = enumOf(m, "sort_order");
  const target = enumOf(m, "sort_target");
  let sortOrder: SortOrder;
  let sortTarget: SortTarget;
  if (order < 0 || order > 2) {
    // etcd 3.4 sorts only for ASCEND/DESCEND (NONE with a non-KEY target means ASCEND);
    // any other order number leaves the natural key order, which NONE/KEY reproduces.
    sortOrder = "NONE";
    sortTarget = "KEY";
  } else if (target < 0 || target > 4) {
    // etcd 3.4 would sort with a nil sorter and crash; 3.6 rejects the request this way.
    if (key.length > 0) throw Errors.InvalidSortOption;
    sortOrder = SORT_ORDER.names[order] as SortOrder;
    sortTarget = "KEY";
  } else {
    sortOrder = SORT_ORDER.names[order] as SortOrder;
    sortTarget = SORT_TARGET.names[target] as SortTarget;
  }
  return {
    key,
    rangeEnd: bytesOf(m, "range_end"),
    limit: numOf(m, "limit"),
    revision: numOf(m, "revision"),
    sortOrder,
    sortTarget,
    serializable: boolOf(m, "serializable"),
    keysOnly: boolOf(m, "keys_only"),
    countOnly: boolOf(m, "count_only"),
    minModRevision: numOf(m, "min_mod_revision"),
    maxModRevision: numOf(m, "max_mod_revision"),
    minCreateRevision: numOf(m, "min_create_revision"),
    maxCreateRevision: numOf(m, "max_create_revision"),
  };
}

export function toPutRequest(m: DecodedMessage): PutRequest {
  return {
    key: bytesOf(m, "key"),
    value: bytesOf(m, "value"),
    lease: bigOf(m, "lease"),
    prevKv: boolOf(m, "prev_kv"),
    ignoreValue: boolOf(m, "ignore_value"),
    ignoreLease: boolOf(m, "ignore_lease"),
  };
}

export function toDeleteRangeRequest(m: DecodedMessage): DeleteRangeRequest {
  return { key: bytesOf(m, "key"), rangeEnd: bytesOf(m, "range_end"), prevKv: boolOf(m, "prev_kv") };
}

function unknownEnum(e: EnumDesc, n: number): EtcdError {
  // etcd 3.4 accepts any number here and evaluates it (an unknown target compares as equal,
  // an unknown result is always true); etcdo's Compare has no way to say that, so it refuses.
  return new EtcdError(GrpcCode.InvalidArgument, `unknown value ${n} for enum ${e.goType}`);
}

export function toCompare(m: DecodedMessage): Compare {
  const r = enumOf(m, "result");
  const t = enumOf(m, "target");
  if (r < 0 || r >= COMPARE_RESULT.names.length) throw unknownEnum(COMPARE_RESULT, r);
  if (t < 0 || t >= COMPARE_TARGET.names.length) throw unknownEnum(COMPARE_TARGET, t);
  let targetUnion: CompareTargetUnion = {};
  const u = m.oneofs.get("target_union");
  if (u) {
    switch (u.member) {
      case "version":
        targetUnion = { version: Number(u.value as bigint) };
        break;
      case "create_revision":
        targetUnion = { createRevision: Number(u.value as bigint) };
        break;
      case "mod_revision":
        targetUnion = { modRevision: Number(u.value as bigint) };
        break;
      case "value":
        targetUnion = { value: u.value as Uint8Array };
        break;
      case "lease":
        targetUnion = { lease: u.value as bigint };
        break;
    }
  }
  return {
    result: COMPARE_RESULT.names[r] as CompareResult,
    target: COMPARE_TARGET.names[t] as CompareTarget,
    key: bytesOf(m, "key"),
    rangeEnd: bytesOf(m, "range_end"),
    targetUnion,
  };
}

export function toRequestOp(m: DecodedMessage): RequestOp {
  const r = m.oneofs.get("request");
  if (!r) return {};
  const v = r.value as DecodedMessage;
  switch (r.member) {
    case "request_range":
      return { requestRange: toRangeRequest(v) };
    case "request_put":
      return { requestPut: toPutRequest(v) };
    case "request_delete_range":
      return { requestDeleteRange: toDeleteRangeRequest(v) };
    case "request_txn":
      return { requestTxn: toTxnRequest(v) };
  }
  return {};
}

const listOf = (m: DecodedMessage, name: string): DecodedMessage[] => (m.fields.get(name) as Value[] | undefined ?? []) as DecodedMessage[];

export function toTxnRequest(m: DecodedMessage): TxnRequest {
  return {
    compare: listOf(m, "compare").map(toCompare),
    success: listOf(m, "success").map(toRequestOp),
    failure: listOf(m, "failure").map(toRequestOp),
  };
}

export function toCompactionRequest(m: DecodedMessage): CompactionRequest {
  return { revision: numOf(m, "revision"), physical: boolOf(m, "physical") };
}

export function toLeaseGrantRequest(m: DecodedMessage): LeaseGrantRequest {
  return { TTL: numOf(m, "TTL"), ID: bigOf(m, "ID") };
}

export function toLeaseRevokeRequest(m: DecodedMessage): LeaseRevokeRequest {
  return { ID: bigOf(m, "ID") };
}

export function toLeaseTimeToLiveRequest(m: DecodedMessage): LeaseTimeToLiveRequest {
  return { ID: bigOf(m, "ID"), keys: boolOf(m, "keys") };
}

export function toLeaseLeasesRequest(_m: DecodedMessage): LeaseLeasesRequest {
  return {};
}

export function toLeaseKeepAliveRequest(m: DecodedMessage): LeaseKeepAliveRequest {
  return { ID: bigOf(m, "ID") };
}
