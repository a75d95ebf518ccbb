// The front door: etcd's JSON grpc-gateway on hono. Decoding, encoding and the error table
// live in ./codec and ./http_errors; this file only routes a request to a member.
import { Hono, type Context } from "hono";
import type { Env } from "../member/env.ts";
import type { UnaryResult } from "../member/rpc.ts";
import { rpcByPath, rpcs, type RpcName } from "./codec/index.ts";
import {
  ETCD_CORS_HEADERS,
  errorBody,
  errorResponse,
  gatewayMethodNotAllowed,
  gatewayNotFound,
  getOnlyMethodNotAllowed,
  healthResponse,
  httpStatusOf,
  jsonResponse,
  pageNotFound,
  serveMuxRedirect,
  streamResponse,
} from "./http_errors.ts";
import { Errors } from "../server/errors.ts";
import { registerFaultRoutes } from "./faults.ts";
import {
  MEMBER_HEADER,
  answeredRemoved,
  forgetMember,
  pickMember,
  refreshMembers,
  rememberLeader,
  stubFor,
  UnknownMemberError,
} from "./members.ts";
import { registerClusterRoutes } from "./cluster_routes.ts";
import { registerWatchRoutes } from "./watch_routes.ts";
import { registerUiRoutes } from "./ui_routes.ts"; // issue 7: the /ui page
import { registerConcurrencyRoutes } from "./concurrency_routes.ts"; // concurrency

type AppContext = Context<{ Bindings: Env }>;

/** The version etcdo answers on /version: the etcd API level it implements. */
export const VERSION_BODY = '{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}';

export const app = new Hono<{ Bindings: Env }>();

app.use("*", async (c, next) => {
  await next();
  for (const [k, v] of Object.entries(ETCD_CORS_HEADERS)) c.res.headers.set(k, v);
});

app.options("*", () => new Response(null, { status: 200 }));

// Go's ServeMux cleans paths ("//", ".", "..", "/v3") with a redirect before routing.
// Paths of plain segments (every API path) are already clean: skip parsing the URL.
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_-]+)+\/?$/;

app.use("*", async (c, next) => {
  const raw = c.req.url;
  const start = raw.indexOf("/", raw.indexOf("//") + 2);
  const q = raw.indexOf("?", start);
  const rawPath = start < 0 ? "" : q < 0 ? raw.slice(start) : raw.slice(start, q);
  if (!raw.includes("#") && PLAIN_PATH.test(rawPath) && rawPath !== "/v3" && rawPath !== "/v3beta") return next();
  const url = new URL(raw);
  const redirect = serveMuxRedirect(c.req.method, url.pathname, url.search.slice(1));
  if (redirect) return redirect;
  await next();
});

app.all("/version", (c) =>
  c.req.method === "GET" ? new Response(VERSION_BODY, { headers: { "Content-Type": "application/json" } }) : getOnlyMethodNotAllowed(),
);

app.all("/health", async (c) => {
  if (c.req.method !== "GET") return getOnlyMethodNotAllowed();
  let healthy = false;
  try {
    const probe = rpcs.Range.decode('{"key":"aGVhbHRo"}');
    await refreshMembers(c.env);
    healthy = (await memberFor(c).unary("Range", probe)).ok;
  } catch {
    healthy = false;
  }
  return healthResponse(healthy);
});

registerFaultRoutes(app);

registerClusterRoutes(app);
registerWatchRoutes(app); // watch: /v3/watch (stream or WebSocket), /v3/etcdo/stream
registerUiRoutes(app); // GET /ui: the live configuration page
registerConcurrencyRoutes(app); // concurrency: lock, election, keepalive WebSocket
app.all("/v3/*", (c) => gateway(c, c.req.path));
app.all("/v3beta/*", (c) => gateway(c, "/v3/" + c.req.path.slice("/v3beta/".length)));

app.notFound(() => pageNotFound());
app.onError((err) => errorResponse(err));

/** RPCs that read: spread over members. Everything else goes to the leader hint. */
const READ_RPCS: ReadonlySet<RpcName> = new Set(["Range", "LeaseTimeToLive", "LeaseLeases"]);

function memberFor(c: AppContext, rpc: RpcName = "Range") {
  const pinned = c.req.header(MEMBER_HEADER);
  let name = pickMember(c.env, pinned, !READ_RPCS.has(rpc));
  let stub = stubFor(c.env, name);
  return {
    async unary(rpcName: RpcName, request: unknown): Promise<UnaryResult> {
      let result = (await stub.unary(rpcName, request)) as UnaryResult;
      if (!pinned && answeredRemoved(result)) {
        // A member removed at runtime: route around it from now on.
        forgetMember(c.env, name);
        await refreshMembers(c.env, true);
        name = pickMember(c.env, undefined, !READ_RPCS.has(rpc));
        stub = stubFor(c.env, name);
        result = (await stub.unary(rpcName, request)) as UnaryResult;
      }
      rememberLeader(c.env, result.leader);
      return result;
    },
  };
}

async function gateway(c: AppContext, path: string): Promise<Response> {
  const rpc = rpcByPath.get(path);
  if (!rpc) return gatewayNotFound();
  if (c.req.method !== "POST") return gatewayMethodNotAllowed();
  const name = rpc.name as RpcName;
  // Bytes, not text: the codec must see a byte-order mark as etcd's JSON decoder does.
  const body = new Uint8Array(await c.req.arrayBuffer());
  // etcd checks any token it is given, even with auth disabled; etcdo issues no tokens yet
  // (no auth), so every token is invalid, exactly as etcd answers an unknown one.
  if (c.req.header("authorization")) return errorResponse(Errors.InvalidAuthToken);
  try {
    await refreshMembers(c.env);
    const member = memberFor(c, name);
    if (name === "LeaseKeepAlive") {
      const requests = rpcs.LeaseKeepAlive.decodeStream(body);
      let out = "";
      for (const request of requests) {
        const result = await member.unary("LeaseKeepAlive", request);
        if (!result.ok) return out === "" ? failed(result) : streamResponse(out + streamError(result));
        out += rpcs.LeaseKeepAlive.encode(result.response as never);
      }
      return streamResponse(out, requests.length > 0);
    }
    const request = rpc.decode(body);
    const result = await member.unary(name, request);
    if (!result.ok) return failed(result);
    return jsonResponse((rpc.encode as (r: unknown) => string)(result.response));
  } catch (err) {
    if (err instanceof UnknownMemberError) return gatewayNotFound();
    return errorResponse(err);
  }
}

function failed(result: Extract<UnaryResult, { ok: false }>): Response {
  return new Response(errorBody(result.code, result.message), {
    status: httpStatusOf(result.code),
    headers: { "Content-Type": "application/json" },
  });
}

/** A stream that fails after some messages ends with grpc-gateway's {"error":{…}} line. */
function streamError(result: Extract<UnaryResult, { ok: false }>): string {
  return `{"error":${errorBody(result.code, result.message)}}\n`;
}
