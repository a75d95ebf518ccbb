// The front door's routes for etcd's Lock and Election services (v3lock, v3election; paths
// as etcd 3.4's gateway, also under /v3beta) and the WebSocket form of /v3/lease/keepalive.
// Lock and Campaign may wait for a long time: the member that takes the request holds it
// until the turn comes (src/member/concurrency_host.ts); Observe streams from a member.
import type { Context, Hono } from "hono";
import type { Env } from "../member/env.ts";
import type { UnaryResult } from "../member/rpc.ts";
import { CONCURRENCY_PATHS, OBSERVE_PATHS } from "./codec/concurrency.ts";
import { rpcs } from "./codec/index.ts";
import { Errors } from "../server/errors.ts";
import { errorBody, errorResponse, gatewayMethodNotAllowed, gatewayNotFound, httpStatusOf, jsonResponse } from "./http_errors.ts";
import { MEMBER_HEADER, UnknownMemberError, pickMember, refreshMembers, relayStream, rememberLeader, stubFor } from "./members.ts";

type AppContext = Context<{ Bindings: Env }>;

export const KEEPALIVE_PATHS = ["/v3/lease/keepalive", "/v3beta/lease/keepalive", "/v3/kv/lease/keepalive"] as const;

export function registerConcurrencyRoutes(app: Hono<{ Bindings: Env }>): void {
  for (const [path, codec] of CONCURRENCY_PATHS) {
    for (const p of [path, path.replace("/v3/", "/v3beta/")]) app.all(p, (c) => unary(c, codec));
  }
  for (const p of OBSERVE_PATHS) app.all(p, (c) => observe(c));
  // Only the WebSocket form; a plain POST goes on to the gateway's stream handler.
  for (const p of KEEPALIVE_PATHS) {
    app.all(p, (c, next) => (c.req.header("Upgrade")?.toLowerCase() === "websocket" ? keepAliveSocket(c) : next()));
  }
}

async function unary(c: AppContext, codec: { name: string; decode(b: Uint8Array): unknown; encode(r: never): string }): Promise<Response> {
  if (c.req.method !== "POST") return gatewayMethodNotAllowed();
  const body = new Uint8Array(await c.req.arrayBuffer());
  if (c.req.header("authorization")) return errorResponse(Errors.InvalidAuthToken);
  try {
    const request = codec.decode(body);
    await refreshMembers(c.env);
    // Writes go to the leader hint; the wait happens on whichever member takes the request.
    const name = pickMember(c.env, c.req.header(MEMBER_HEADER), codec.name !== "Leader");
    const result = (await stubFor(c.env, name).concurrency(codec.name as never, request)) as UnaryResult;
    rememberLeader(c.env, result.leader);
    if (!result.ok) return failed(result.code, result.message);
    return jsonResponse(codec.encode(result.response as never));
  } catch (err) {
    if (err instanceof UnknownMemberError) return gatewayNotFound();
    return errorResponse(err);
  }
}

async function observe(c: AppContext): Promise<Response> {
  if (c.req.method !== "POST") return gatewayMethodNotAllowed();
  if (c.req.header("authorization")) return errorResponse(Errors.InvalidAuthToken);
  try {
    await refreshMembers(c.env);
    const name = pickMember(c.env, c.req.header(MEMBER_HEADER), false);
    return relayStream(await stubFor(c.env, name).fetch(c.req.raw));
  } catch (err) {
    if (err instanceof UnknownMemberError) return gatewayNotFound();
    return errorResponse(err);
  }
}

/**
 * /v3/lease/keepalive as a WebSocket, as etcd's gateway serves a bidi stream: every JSON
 * request in a frame is answered with one `{"result":…}` frame, in order. A failure is
 * answered with `{"error":{…}}` (the stream's error line) and the socket stays open.
 */
function keepAliveSocket(c: AppContext): Response {
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  server.accept();
  let chain: Promise<void> = Promise.resolve();
  server.addEventListener("message", (ev) => {
    const data = typeof ev.data === "string" ? ev.data : new TextDecoder().decode(ev.data as ArrayBuffer);
    chain = chain.then(() => answerKeepAlives(c, server, data)).catch(() => undefined);
  });
  server.addEventListener("close", () => {
    try {
      server.close();
    } catch {
      // already closed
    }
  });
  const headers: Record<string, string> = {};
  const proto = c.req.header("Sec-WebSocket-Protocol");
  // etcd's gateway accepts a bearer token as a subprotocol; answer it as the watch socket does.
  if (proto) headers["Sec-WebSocket-Protocol"] = proto.split(",")[0]!.trim();
  return new Response(null, { status: 101, webSocket: client, headers });
}

async function answerKeepAlives(c: AppContext, ws: WebSocket, frame: string): Promise<void> {
  let requests;
  try {
    requests = rpcs.LeaseKeepAlive.decodeStream(frame);
  } catch (err) {
    const e = err as { code: number; message: string };
    ws.send(`{"error":${errorBody(e.code, e.message)}}`);
    return;
  }
  for (const request of requests) {
    try {
      await refreshMembers(c.env);
      const result = (await stubFor(c.env, pickMember(c.env, c.req.header(MEMBER_HEADER), true)).unary("LeaseKeepAlive", request)) as UnaryResult;
      rememberLeader(c.env, result.leader);
      if (result.ok) ws.send(rpcs.LeaseKeepAlive.encode(result.response as never).trimEnd());
      else ws.send(`{"error":${errorBody(result.code, result.message)}}`);
    } catch (err) {
      ws.send(`{"error":${errorBody(14, err instanceof Error ? err.message : String(err))}}`);
    }
  }
}

function failed(code: number, message: string): Response {
  return new Response(errorBody(code, message), { status: httpStatusOf(code), headers: { "Content-Type": "application/json" } });
}
