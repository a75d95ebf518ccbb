import { Hono } from "hono";
import type { Env } from "../member/env.ts";

export const app = new Hono<{ Bindings: Env }>();
app.get("/version", (c) => c.json({ etcdserver: "3.4.23", etcdcluster: "3.4.0" }));
app.post("/_smoke", async (c) => {
  const stub = c.env.MEMBER.getByName("m1");
  return c.json({ n: await stub.ping() });
});
