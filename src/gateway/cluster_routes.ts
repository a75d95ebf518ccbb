// The gateway routes of etcd 3.4's Cluster and Maintenance services (POST only, also under
// /v3beta/): decode with ./codec/cluster.ts and ./codec/maintenance.ts, ask a member's
// `cluster` RPC, answer through the one error table.
//
// Members are addressed by their Durable Object: peer URL `etcdo://<cluster>/<member>`
// (see src/server/membership.ts). A Durable Object has no client URL of its own, so a
// started member's clientURLs are answered as this front door's origin, where clients reach
// it (pin one member with the x-etcdo-member header).
import type { Context, Hono } from "hono";
import type { Env } from "../member/env.ts";
import type { ClusterRpc, MembersResponse } from "../member/cluster_admin.ts";
import type { UnaryResult } from "../member/rpc.ts";
import { Errors } from "../server/errors.ts";
import {
  decodeEmptyRequest,
  decodeMemberAddRequest,
  decodeMemberIdRequest,
  decodeMemberUpdateRequest,
  encodeMemberAddResponse,
  encodeMembersResponse,
} from "./codec/cluster.ts";
import {
  decodeAlarmRequest,
  decodeMoveLeaderRequest,
  encodeAlarmResponse,
  encodeEmptyResponse,
  encodeHashResponse,
  encodeStatusResponse,
} from "./codec/maintenance.ts";
import { errorBody, errorResponse, gatewayMethodNotAllowed, gatewayNotFound, httpStatusOf, jsonResponse } from "./http_errors.ts";
import {
  MEMBER_HEADER,
  UnknownMemberError,
  answeredRemoved,
  forgetMember,
  pickMember,
  refreshMembers,
  rememberLeader,
  stubFor,
} from "./members.ts";

interface Route {
  path: string;
  rpc: ClusterRpc;
  decode(body: Uint8Array): unknown;
  encode(response: never): string;
  /** Sent to the leader hint (changes, alarms, leader transfer); otherwise spread. */
  toLeader: boolean;
  /** The answer lists members (their client URLs are filled in). */
  lists?: boolean;
  /** Changes the configuration: the routing view is refreshed after it. */
  reconfigures?: boolean;
}

const ROUTES: Route[] = [
  { path: "cluster/member/add", rpc: "MemberAdd", decode: decodeMemberAddRequest, encode: encodeMemberAddResponse, toLeader: true, lists: true, reconfigures: true },
  { path: "cluster/member/remove", rpc: "MemberRemove", decode: decodeMemberIdRequest, encode: encodeMembersResponse, toLeader: true, lists: true, reconfigures: true },
  { path: "cluster/member/update", rpc: "MemberUpdate", decode: decodeMemberUpdateRequest, encode: encodeMembersResponse, toLeader: true, lists: true, reconfigures: true },
  { path: "cluster/member/list", rpc: "MemberList", decode: decodeEmptyRequest, encode: encodeMembersResponse, toLeader: false, lists: true },
  { path: "cluster/member/promote", rpc: "MemberPromote", decode: decodeMemberIdRequest, encode: encodeMembersResponse, toLeader: true, lists: true, reconfigures: true },
  { path: "maintenance/alarm", rpc: "Alarm", decode: decodeAlarmRequest, encode: encodeAlarmResponse, toLeader: true },
  { path: "maintenance/status", rpc: "Status", decode: decodeEmptyRequest, encode: encodeStatusResponse, toLeader: false },
  { path: "maintenance/defragment", rpc: "Defragment", decode: decodeEmptyRequest, encode: encodeEmptyResponse, toLeader: false },
  // 3.4 maps Hash and HashKV to this one path; its gateway serves Hash.
  { path: "maintenance/hash", rpc: "Hash", decode: decodeEmptyRequest, encode: encodeHashResponse, toLeader: false },
  { path: "maintenance/transfer-leadership", rpc: "MoveLeader", decode: decodeMoveLeaderRequest, encode: encodeEmptyResponse, toLeader: true },
];

type AppContext = Context<{ Bindings: Env }>;

export function registerClusterRoutes(app: Hono<{ Bindings: Env }>): void {
  for (const route of ROUTES) {
    for (const prefix of ["/v3/", "/v3beta/"]) app.all(prefix + route.path, (c) => serve(c, route));
  }
}

async function serve(c: AppContext, route: Route): Promise<Response> {
  if (c.req.method !== "POST") return gatewayMethodNotAllowed();
  const body = new Uint8Array(await c.req.arrayBuffer());
  if (c.req.header("authorization")) return errorResponse(Errors.InvalidAuthToken);
  try {
    const request = route.decode(body);
    await refreshMembers(c.env);
    const pinned = c.req.header(MEMBER_HEADER);
    const name = pickMember(c.env, pinned, route.toLeader);
    let result = (await stubFor(c.env, name).cluster(route.rpc, request)) as UnaryResult;
    if (!pinned && answeredRemoved(result)) {
      forgetMember(c.env, name);
      await refreshMembers(c.env, true);
      result = (await stubFor(c.env, pickMember(c.env, undefined, route.toLeader)).cluster(route.rpc, request)) as UnaryResult;
    }
    rememberLeader(c.env, result.leader);
    if (!result.ok) {
      return new Response(errorBody(result.code, result.message), {
        status: httpStatusOf(result.code),
        headers: { "Content-Type": "application/json" },
      });
    }
    if (route.reconfigures) await refreshMembers(c.env, true);
    let response = result.response;
    if (route.lists) response = withClientUrls(response as MembersResponse, new URL(c.req.url).origin);
    return jsonResponse(route.encode(response as never));
  } catch (err) {
    if (err instanceof UnknownMemberError) return gatewayNotFound();
    return errorResponse(err);
  }
}

function withClientUrls<R extends MembersResponse>(r: R, origin: string): R {
  return {
    ...r,
    members: r.members.map((m) => (m.name !== "" && m.clientURLs.length === 0 ? { ...m, clientURLs: [origin] } : m)),
  };
}
