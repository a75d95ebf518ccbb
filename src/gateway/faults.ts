// The fault-injection API for tests, served only when ETCDO_FAULTS is "on" (the local
// development configuration); elsewhere these paths do not exist.
//   POST /_fault {"action":"partition","groups":[["m1"],["m2","m3"]]}
//   POST /_fault {"action":"heal"}
//   POST /_fault {"action":"crash","member":"m2"}
//   POST /_fault {"action":"pause","member":"m1","ms":3000}
//   GET  /_fault/status
import type { Hono } from "hono";
import type { Env } from "../member/env.ts";
import type { MemberFault, MemberStatus } from "../member/rpc.ts";
import { memberNames, stubFor } from "./members.ts";

type FaultRequest =
  | { action: "partition"; groups: string[][] }
  | { action: "heal" }
  | { action: "crash"; member: string }
  | { action: "pause"; member: string; ms: number };

function badRequest(message: string): Response {
  return Response.json({ error: message }, { status: 400 });
}

export function registerFaultRoutes(app: Hono<{ Bindings: Env }>): void {
  app.use("/_fault/*", async (c, next) => (c.env.ETCDO_FAULTS === "on" ? next() : c.notFound()));
  app.use("/_fault", async (c, next) => (c.env.ETCDO_FAULTS === "on" ? next() : c.notFound()));

  app.get("/_fault/status", async (c) => {
    const members = await Promise.all(
      memberNames(c.env).map(async (name): Promise<MemberStatus | { member: string; error: string }> => {
        try {
          return (await stubFor(c.env, name).status()) as MemberStatus;
        } catch (err) {
          return { member: name, error: String(err) };
        }
      }),
    );
    const leaders = new Set(members.flatMap((m) => ("role" in m && m.role === "Leader" ? [m.member] : [])));
    return c.json({ members, leader: leaders.size === 1 ? [...leaders][0] : "" });
  });

  app.post("/_fault", async (c) => {
    let f: FaultRequest;
    try {
      f = (await c.req.json()) as FaultRequest;
    } catch {
      return badRequest("body must be JSON");
    }
    const names = memberNames(c.env);
    const apply = (name: string, fault: MemberFault) => stubFor(c.env, name).fault(fault);
    switch (f.action) {
      case "partition": {
        if (!Array.isArray(f.groups) || f.groups.some((g) => !Array.isArray(g) || g.some((m) => !names.includes(m)))) {
          return badRequest(`groups must be lists of members among ${names.join(",")}`);
        }
        const groupOf = new Map<string, number>();
        f.groups.forEach((g, i) => g.forEach((m) => groupOf.set(m, i)));
        await Promise.all(
          names.map((m) => apply(m, { kind: "block", peers: names.filter((p) => p !== m && groupOf.get(p) !== groupOf.get(m)) })),
        );
        break;
      }
      case "heal":
        await Promise.all(names.map((m) => apply(m, { kind: "block", peers: [] })));
        break;
      case "crash":
        if (!names.includes(f.member)) return badRequest(`unknown member ${f.member}`);
        await apply(f.member, { kind: "crash" }).catch(() => undefined); // the crash ends the call
        break;
      case "pause":
        if (!names.includes(f.member) || !(f.ms > 0)) return badRequest("pause needs a member and ms > 0");
        await apply(f.member, { kind: "pause", ms: f.ms });
        break;
      default:
        return badRequest("action must be partition, heal, crash or pause");
    }
    return c.json({ ok: true });
  });
}
