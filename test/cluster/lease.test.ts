// Leases on the 3-member cluster: expiry decided by the leader within the documented bound,
// keepalive across a leader transfer and a member crash, revoke deleting every attached key
// at one revision (one watch response of DELETE events).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b64, startTestCluster, type TestCluster } from "./support.ts";
import { keepAlive, readStream, sleep, until200 } from "./lease_support.ts";

let c: TestCluster;
beforeAll(async () => {
  c = await startTestCluster();
  await c.waitForLeader();
});
afterAll(async () => c?.dispose());

/** Without a leader change a lease is revoked within one tick and one commit after its TTL; 1 s is ample. */
const STABLE_BOUND_MS = 1000;

async function exists(key: string): Promise<boolean> {
  const r = await c.post("/v3/kv/range", { key: b64(key) });
  expect(r.status).toBe(200);
  return (r.json.kvs?.length ?? 0) > 0;
}

describe("leases on the cluster", () => {
  it("a key with a 2 s lease and no keepalive disappears after the TTL, within the bound", async () => {
    const sent = Date.now();
    const g = await c.post("/v3/lease/grant", { TTL: 2 });
    expect(g.status).toBe(200);
    expect(g.json.TTL).toBe("2");
    expect((await c.post("/v3/kv/put", { key: b64("exp/a"), value: b64("v"), lease: g.json.ID })).status).toBe(200);
    let goneAt = 0;
    while (Date.now() - sent < 2000 + STABLE_BOUND_MS + 2000) {
      if (!(await exists("exp/a"))) {
        goneAt = Date.now();
        break;
      }
      await sleep(25);
    }
    expect(goneAt, "the key was never revoked").toBeGreaterThan(0);
    expect(goneAt - sent).toBeGreaterThanOrEqual(2000); // never early
    expect(goneAt - sent).toBeLessThanOrEqual(2000 + STABLE_BOUND_MS);
    const ttl = await c.post("/v3/lease/timetolive", { ID: g.json.ID });
    expect(ttl.json.TTL).toBe("-1");
    const ka = await c.post("/v3/lease/keepalive", { ID: g.json.ID });
    expect(ka.json.result.TTL).toBeUndefined(); // TTL 0: the lease is gone
  });

  it("keepalive keeps a 2 s lease alive across a leader transfer and a member crash", async () => {
    const g = await c.post("/v3/lease/grant", { TTL: 2 });
    const id: string = g.json.ID;
    await c.post("/v3/kv/put", { key: b64("ka/a"), value: b64("v"), lease: id });
    const ka = keepAlive(c, id, 400);
    try {
      const members = (await c.post("/v3/cluster/member/list", {})).json.members as Array<{ ID: string; name: string }>;
      const leader = await c.waitForLeader();
      const target = members.find((m) => m.name !== leader)!;
      await until200(c, "/v3/maintenance/transfer-leadership", { targetID: target.ID });
      const after = await c.waitForLeader();
      expect(after).toBe(target.name);
      await sleep(2500);
      expect(await exists("ka/a")).toBe(true);
      await c.fault({ action: "crash", member: after });
      await sleep(500);
      const third = await c.waitForLeader();
      await sleep(3000);
      expect(await exists("ka/a")).toBe(true);
      const t = await until200(c, "/v3/lease/timetolive", { ID: id });
      expect(Number(t.TTL)).toBeGreaterThan(0);
      expect(third).toBeTruthy();
    } finally {
      ka.stop();
    }
    // Once keepalives stop, the lease expires on the current leader.
    const stopped = Date.now();
    await sleep(400);
    while ((await exists("ka/a")) && Date.now() - stopped < 2000 + STABLE_BOUND_MS + 3000) await sleep(50);
    expect(await exists("ka/a")).toBe(false);
  });

  it("revoke deletes all attached keys at one revision, seen by a watcher as one response", async () => {
    const g = await c.post("/v3/lease/grant", { TTL: 60 });
    const keys = ["rv/a", "rv/b", "rv/c", "rv/d", "rv/e"];
    for (const k of keys) await c.post("/v3/kv/put", { key: b64(k), value: b64("v"), lease: g.json.ID });
    const events: any[] = [];
    const ac = new AbortController();
    const watching = readStream(c.url, "/v3/watch", { create_request: { key: b64("rv/"), range_end: b64("rv0") } }, (m) => {
      if (m.result?.events) events.push(m.result);
    }, ac.signal);
    await sleep(300);
    const rv = await c.post("/v3/lease/revoke", { ID: g.json.ID });
    expect(rv.status).toBe(200);
    const rev = rv.json.header.revision;
    for (let i = 0; i < 100 && events.length === 0; i++) await sleep(20);
    ac.abort();
    await watching.catch(() => undefined);
    expect(events.length).toBe(1);
    expect(events[0].events.map((e: any) => [e.type, Buffer.from(e.kv.key, "base64").toString(), e.kv.mod_revision]))
      .toEqual(keys.map((k) => ["DELETE", k, rev]));
    const r = await c.post("/v3/kv/range", { key: b64("rv/"), range_end: b64("rv0") });
    expect(r.json.kvs).toBeUndefined();
  });
});
