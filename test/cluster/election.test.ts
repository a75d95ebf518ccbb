// Elections on the 3-member cluster: three candidates campaign, exactly one leads at a time;
// when the leader's lease expires (its keepalive stops) the next candidate in campaign order
// takes over, and an observer sees every change, in order, with rising revisions.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b64, startTestCluster, type TestCluster } from "./support.ts";
import { keepAlive, readStream, sleep } from "./lease_support.ts";

let c: TestCluster;
beforeAll(async () => {
  c = await startTestCluster();
  await c.waitForLeader();
});
afterAll(async () => c?.dispose());

describe("election", () => {
  it("one leader at a time; an expired leader is replaced and observers see the changes in order", async () => {
    const NAME = b64("svc-leader");
    const observed: Array<{ value: string; rev: number }> = [];
    const ac = new AbortController();
    const observing = readStream(c.url, "/v3/election/observe", { name: NAME }, (m) => {
      const kv = m.result?.kv;
      if (kv) observed.push({ value: Buffer.from(kv.value, "base64").toString(), rev: Number(m.result.header.revision) });
    }, ac.signal, "m2");

    const candidates = ["a", "b", "c"];
    const leases: string[] = [];
    const keepers: Array<ReturnType<typeof keepAlive>> = [];
    for (const _ of candidates) {
      const id = (await c.post("/v3/lease/grant", { TTL: 2 })).json.ID;
      leases.push(id);
      keepers.push(keepAlive(c, id, 400));
    }
    const won: Array<{ who: string; at: number; revision: number }> = [];
    const campaigns = candidates.map(async (who, i) => {
      await sleep(i * 150); // campaign order a, b, c
      const r = await c.post("/v3/election/campaign", { name: NAME, lease: leases[i], value: b64(who) }, { timeoutMs: 20_000 });
      expect(r.status).toBe(200);
      won.push({ who, at: Date.now(), revision: Number(r.json.header.revision) });
    });
    try {
      await sleep(1000);
      expect(won.map((w) => w.who)).toEqual(["a"]);
      const l1 = await c.post("/v3/election/leader", { name: NAME });
      expect(Buffer.from(l1.json.kv.value, "base64").toString()).toBe("a");
      // The leader stops renewing (a crashed process): its lease expires, b takes over.
      keepers[0]!.stop();
      for (let i = 0; i < 100 && won.length < 2; i++) await sleep(50);
      expect(won.map((w) => w.who)).toEqual(["a", "b"]);
      // At no time did two lead: a's key was gone when b won.
      const aKey = (await c.post("/v3/kv/range", { key: b64("svc-leader/"), range_end: b64("svc-leader0") })).json.kvs
        .map((kv: any) => Buffer.from(kv.value, "base64").toString());
      expect(aKey).toEqual(["b", "c"]);
      // b proclaims a new value, then its keepalive stops too: c takes over.
      const leaderB = await c.post("/v3/election/leader", { name: NAME });
      const lk = { name: NAME, key: leaderB.json.kv.key, rev: leaderB.json.kv.create_revision, lease: leases[1] };
      expect((await c.post("/v3/election/proclaim", { leader: lk, value: b64("b2") })).status).toBe(200);
      keepers[1]!.stop();
      await Promise.all(campaigns);
      expect(won.map((w) => w.who)).toEqual(["a", "b", "c"]);
      // A deposed leader can no longer proclaim.
      const stale = await c.post("/v3/election/proclaim", { leader: lk, value: b64("b3") });
      expect(stale.status).toBe(500);
      expect(stale.json.message).toBe("election: not leader");
      await sleep(300);
      expect(observed.map((o) => o.value)).toEqual(["a", "b", "b2", "c"]);
      for (let i = 1; i < observed.length; i++) expect(observed[i]!.rev).toBeGreaterThan(observed[i - 1]!.rev);
    } finally {
      for (const k of keepers) k.stop();
      ac.abort();
      await observing.catch(() => undefined);
    }
  });
});
