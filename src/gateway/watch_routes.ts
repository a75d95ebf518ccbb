// The front door's watch routes: /v3/watch (and /v3beta/watch) as etcd's gateway serves it,
// a streaming POST or a WebSocket upgrade, and the multiplexed browser socket
// /v3/etcdo/stream. All are handed whole to one member's fetch(): the member holds the
// stream (and the socket, hibernatable) and feeds it from its apply path. docs/watch.md.
import type { Context, Hono } from "hono";
import type { Env } from "../member/env.ts";
import { gatewayMethodNotAllowed, gatewayNotFound, errorResponse } from "./http_errors.ts";
import { MEMBER_HEADER, UnknownMemberError, pickMember, refreshMembers, relayStream, stubFor } from "./members.ts";

export const WATCH_ROUTE_PATHS = ["/v3/watch", "/v3beta/watch"] as const;
export const MUX_ROUTE_PATH = "/v3/etcdo/stream";

export function registerWatchRoutes(app: Hono<{ Bindings: Env }>): void {
  for (const path of WATCH_ROUTE_PATHS) app.all(path, (c) => forward(c, false));
  app.all(MUX_ROUTE_PATH, (c) => forward(c, true));
}

async function forward(c: Context<{ Bindings: Env }>, mux: boolean): Promise<Response> {
  const upgrade = c.req.header("Upgrade")?.toLowerCase() === "websocket";
  // etcd's gateway takes any method for a WebSocket (it turns it into POST), else only POST.
  if (!upgrade && c.req.method !== "POST") return mux ? new Response("expected a WebSocket upgrade\n", { status: 426 }) : gatewayMethodNotAllowed();
  try {
    await refreshMembers(c.env);
    const name = pickMember(c.env, c.req.header(MEMBER_HEADER), false);
    return relayStream(await stubFor(c.env, name).fetch(c.req.raw));
  } catch (err) {
    if (err instanceof UnknownMemberError) return gatewayNotFound();
    return errorResponse(err);
  }
}
