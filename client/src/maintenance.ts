// Cluster, maintenance and auth calls that etcdctl's endpoint/member verbs need. Per-member
// calls take an `endpoint` and go to that member only.

import { EtcdError } from "./errors.ts";
import type { Conn } from "./kv.ts";
import type { RequestOptions } from "./transport.ts";
import { type RawHeader, type ResponseHeader, decodeHeader, id64, num } from "./types.ts";

type EndpointOptions = Pick<RequestOptions, "signal" | "timeout" | "endpoint">;

export interface StatusResult {
  header: ResponseHeader;
  version: string;
  dbSize: number;
  leader: string;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  errors: string[];
  dbSizeInUse: number;
  isLearner: boolean;
}

export async function status(c: Conn, o: EndpointOptions = {}): Promise<StatusResult> {
  const r = await c.transport.request<{
    header?: RawHeader;
    version?: string;
    dbSize?: string;
    leader?: string;
    raftIndex?: string;
    raftTerm?: string;
    raftAppliedIndex?: string;
    errors?: string[];
    dbSizeInUse?: string;
    isLearner?: boolean;
  }>("/v3/maintenance/status", {}, { ...o, idempotent: true });
  return {
    header: decodeHeader(r.header),
    version: r.version ?? "",
    dbSize: num(r.dbSize),
    leader: id64(r.leader),
    raftIndex: num(r.raftIndex),
    raftTerm: num(r.raftTerm),
    raftAppliedIndex: num(r.raftAppliedIndex),
    errors: r.errors ?? [],
    dbSizeInUse: num(r.dbSizeInUse),
    isLearner: r.isLearner ?? false,
  };
}

export interface Member {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export async function memberList(c: Conn, o: EndpointOptions = {}): Promise<{ header: ResponseHeader; members: Member[] }> {
  type RawMember = { ID?: string; name?: string; peerURLs?: string[]; clientURLs?: string[]; isLearner?: boolean };
  const r = await c.transport.request<{ header?: RawHeader; members?: RawMember[] }>("/v3/cluster/member/list", {}, { ...o, idempotent: true });
  return {
    header: decodeHeader(r.header),
    members: (r.members ?? []).map((m) => ({
      id: id64(m.ID),
      name: m.name ?? "",
      peerURLs: m.peerURLs ?? [],
      clientURLs: m.clientURLs ?? [],
      isLearner: m.isLearner ?? false,
    })),
  };
}

export interface HealthResult {
  health: boolean;
  reason: string;
}

/** GET /health of one member (or the next endpoint). */
export async function health(c: Conn, o: EndpointOptions = {}): Promise<HealthResult> {
  let r: { health?: string | boolean; reason?: string };
  try {
    r = await c.transport.request("/health", undefined, { ...o, method: "GET", idempotent: true });
  } catch (e) {
    // An unhealthy member answers 503 {"health":"false"}.
    if (e instanceof EtcdError && e.httpStatus === 503) return { health: false, reason: e.message };
    throw e;
  }
  return { health: r.health === true || r.health === "true", reason: r.reason ?? "" };
}

export async function version(c: Conn, o: EndpointOptions = {}): Promise<{ etcdserver: string; etcdcluster: string }> {
  const r = await c.transport.request<{ etcdserver?: string; etcdcluster?: string }>("/version", undefined, { ...o, method: "GET", idempotent: true });
  return { etcdserver: r.etcdserver ?? "", etcdcluster: r.etcdcluster ?? "" };
}

/** Exchanges a user name and password for a token (send it as the `token` option). */
export async function authenticate(c: Conn, name: string, password: string, o: EndpointOptions = {}): Promise<{ header: ResponseHeader; token: string }> {
  const r = await c.transport.request<{ header?: RawHeader; token?: string }>("/v3/auth/authenticate", { name, password }, { ...o, idempotent: true });
  return { header: decodeHeader(r.header), token: r.token ?? "" };
}

type RawMemberRec = { ID?: string; name?: string; peerURLs?: string[]; clientURLs?: string[]; isLearner?: boolean };
const decodeMember = (m: RawMemberRec): Member => ({
  id: id64(m.ID),
  name: m.name ?? "",
  peerURLs: m.peerURLs ?? [],
  clientURLs: m.clientURLs ?? [],
  isLearner: m.isLearner ?? false,
});

export interface MembersResult {
  header: ResponseHeader;
  members: Member[];
}

/** Adds a member (a learner with `isLearner`); answers the new member and the new membership. */
export async function memberAdd(c: Conn, peerURLs: string[], o: EndpointOptions & { isLearner?: boolean } = {}): Promise<MembersResult & { member: Member }> {
  const req: Record<string, unknown> = { peerURLs };
  if (o.isLearner) req.isLearner = true;
  const r = await c.transport.request<{ header?: RawHeader; member?: RawMemberRec; members?: RawMemberRec[] }>("/v3/cluster/member/add", req, o);
  return { header: decodeHeader(r.header), member: decodeMember(r.member ?? {}), members: (r.members ?? []).map(decodeMember) };
}

async function memberById(c: Conn, path: string, id: string, o: EndpointOptions): Promise<MembersResult> {
  const r = await c.transport.request<{ header?: RawHeader; members?: RawMemberRec[] }>(path, { ID: id }, o);
  return { header: decodeHeader(r.header), members: (r.members ?? []).map(decodeMember) };
}

/** Removes the member with this ID (decimal string). */
export const memberRemove = (c: Conn, id: string, o: EndpointOptions = {}) => memberById(c, "/v3/cluster/member/remove", id, o);
/** Promotes a learner that has caught up with the leader. */
export const memberPromote = (c: Conn, id: string, o: EndpointOptions = {}) => memberById(c, "/v3/cluster/member/promote", id, o);

export interface Alarm {
  memberId: string;
  alarm: string;
}

/** Lists alarms ("GET"), or disarms one (or, given none, every alarm) with "DEACTIVATE". */
export async function alarm(c: Conn, action: "GET" | "DEACTIVATE", o: EndpointOptions & { memberId?: string; alarm?: string } = {}): Promise<{ header: ResponseHeader; alarms: Alarm[] }> {
  const call = async (body: Record<string, unknown>) => {
    const r = await c.transport.request<{ header?: RawHeader; alarms?: { memberID?: string; alarm?: string }[] }>("/v3/maintenance/alarm", body, { ...o, idempotent: action === "GET" });
    return { header: decodeHeader(r.header), alarms: (r.alarms ?? []).map((a) => ({ memberId: id64(a.memberID), alarm: a.alarm ?? "NONE" })) };
  };
  if (action === "GET") return call({ action: "GET" });
  if (o.memberId || o.alarm) return call({ action: "DEACTIVATE", memberID: o.memberId ?? "0", alarm: o.alarm ?? "NONE" });
  // clientv3's AlarmDisarm with no member: disarm every raised alarm, answer the list.
  const all = await call({ action: "GET" });
  let header = all.header;
  for (const a of all.alarms) header = (await call({ action: "DEACTIVATE", memberID: a.memberId, alarm: a.alarm })).header;
  return { header, alarms: all.alarms };
}
