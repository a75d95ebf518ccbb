// The JSON codec of etcd 3.4's Maintenance service on the gateway: status, hash, alarm,
// defragment and transfer-leadership. 3.4 maps both Hash and HashKV to /v3/maintenance/hash
// and the gateway serves Hash there (an empty request: a "revision" is ignored).
import { ALARM_TYPE_NAMES } from "../../server/membership.ts";
import type {
  AlarmRequest,
  AlarmResponse,
  HashKVResponse,
  HashResponse,
  MoveLeaderRequest,
  StatusResponse,
} from "../../member/cluster_admin.ts";
import { decodeFields } from "./cluster.ts";
import { goJsonString } from "./gojson.ts";
import { Obj, encodeHeader } from "./responses.ts";

const ALARM_ACTIONS = ["GET", "ACTIVATE", "DEACTIVATE"] as const;

export function decodeAlarmRequest(body: string | Uint8Array): AlarmRequest {
  return decodeFields(body, (f) => ({
    action: f.enumOf("action", "action", "etcdserverpb.AlarmRequest_AlarmAction", ALARM_ACTIONS),
    memberID: f.uint64("memberID"),
    alarm: f.enumOf("alarm", "alarm", "etcdserverpb.AlarmType", ALARM_TYPE_NAMES),
  }));
}

export function decodeMoveLeaderRequest(body: string | Uint8Array): MoveLeaderRequest {
  return decodeFields(body, (f) => ({ targetID: f.uint64("targetID") }));
}

export function decodeHashKVRequest(body: string | Uint8Array): { revision: number } {
  return decodeFields(body, (f) => ({ revision: f.int64("revision") }));
}

/** A uint32 is a JSON number, not a string. */
const uint32 = (v: number) => (v !== 0 ? String(v >>> 0) : undefined);

export function encodeStatusResponse(r: StatusResponse): string {
  return new Obj()
    .msg("header", encodeHeader(r.header))
    .string("version", r.version)
    .int("dbSize", r.dbSize)
    .int("leader", r.leader)
    .int("raftIndex", r.raftIndex)
    .int("raftTerm", r.raftTerm)
    .int("raftAppliedIndex", r.raftAppliedIndex)
    .list("errors", r.errors.map(goJsonString))
    .int("dbSizeInUse", r.dbSizeInUse)
    .bool("isLearner", r.isLearner)
    .toString();
}

export function encodeHashResponse(r: HashResponse): string {
  return new Obj().msg("header", encodeHeader(r.header)).msg("hash", uint32(r.hash)).toString();
}

export function encodeHashKVResponse(r: HashKVResponse): string {
  return new Obj()
    .msg("header", encodeHeader(r.header))
    .msg("hash", uint32(r.hash))
    .int("compact_revision", r.compactRevision)
    .toString();
}

/** No header: etcd's applier answers alarms without one. */
export function encodeAlarmResponse(r: AlarmResponse): string {
  const member = (a: AlarmResponse["alarms"][number]) =>
    new Obj()
      .int("memberID", a.memberID)
      .msg("alarm", a.alarm !== 0 ? goJsonString(ALARM_TYPE_NAMES[a.alarm] ?? String(a.alarm)) : undefined)
      .toString();
  return new Obj().list("alarms", r.alarms.map(member)).toString();
}

/** DefragmentResponse and MoveLeaderResponse: etcd leaves their header unset. */
export function encodeEmptyResponse(): string {
  return "{}";
}
