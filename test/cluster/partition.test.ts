// A minority cannot commit or serve linearizable reads; a cut-off old leader steps down and
// the writes it could not commit never appear; the cluster converges after the partition.
import { afterAll, beforeAll, expect, it } from "vitest";
import { b64, startTestCluster, type TestCluster } from "./support.ts";

let c: TestCluster;
beforeAll(async () => {
  c = await startTestCluster();
  await c.waitForLeader();
});
afterAll(async () => c?.dispose());

const MEMBERS = ["m1", "m2", "m3"];

it("isolating the leader: the minority refuses, the majority goes on, the old leader's write never appears", { timeout: 60_000 }, async () => {
  const oldLeader = await c.waitForLeader();
  const majority = MEMBERS.filter((m) => m !== oldLeader);
  expect((await c.post("/v3/kv/put", { key: b64("p/before"), value: b64("1") })).status).toBe(200);
  await c.fault({ action: "partition", groups: [[oldLeader], majority] });

  // The old leader cannot commit: its write times out with etcd's error.
  const lost = await c.post("/v3/kv/put", { key: b64("p/minority"), value: b64("x") }, { member: oldLeader, timeoutMs: 15_000 });
  expect(lost.status).toBe(503);
  expect(lost.json.message).toBe("etcdserver: request timed out");
  // Nor serve a linearizable read; a serializable read is answered locally (possibly stale).
  const linear = await c.post("/v3/kv/range", { key: b64("p/before") }, { member: oldLeader, timeoutMs: 15_000 });
  expect(linear.status).toBe(503);
  const local = await c.post("/v3/kv/range", { key: b64("p/before"), serializable: true }, { member: oldLeader });
  expect(local.status).toBe(200);
  expect(local.json.count).toBe("1");

  // The majority elects a new leader and keeps committing.
  let written = false;
  for (let i = 0; i < 100 && !written; i++) {
    const r = await c.post("/v3/kv/put", { key: b64("p/majority"), value: b64("y") }, { member: majority[0], timeoutMs: 15_000 });
    written = r.status === 200;
  }
  expect(written).toBe(true);
  const st = await c.status();
  const old = st.members.find((m) => m.member === oldLeader);
  expect(old.role).not.toBe("Leader"); // CheckQuorum: it stepped down without hearing a majority

  await c.fault({ action: "heal" });
  const leader = await c.waitForLeader();
  expect(majority).toContain(leader);
  const done = await c.post("/v3/kv/put", { key: b64("p/after"), value: b64("z") });
  expect(done.status).toBe(200);
  const rev = Number(done.json.header.revision);
  // Every member converges on the same keys: the majority's write is there, the old leader's is not.
  for (const m of MEMBERS) {
    let keys: string[] = [];
    for (let i = 0; i < 200; i++) {
      const r = await c.post("/v3/kv/range", { key: b64("p/"), range_end: b64("p0"), serializable: true }, { member: m });
      if (r.status === 200 && Number(r.json.header.revision) >= rev) {
        keys = (r.json.kvs ?? []).map((kv: { key: string }) => Buffer.from(kv.key, "base64").toString());
        break;
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(keys, m).toEqual(["p/after", "p/before", "p/majority"]);
  }
});
