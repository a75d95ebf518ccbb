// Leadership transfer under load: writers keep going while the leader hands over twice; every
// acknowledged write is there afterwards, on every member, at the revision it was given.
import { afterAll, beforeAll, expect, it } from "vitest";
import { b64, startTestCluster, type TestCluster } from "./support.ts";

let c: TestCluster;
beforeAll(async () => {
  c = await startTestCluster();
  await c.waitForLeader();
});
afterAll(async () => c?.dispose());

it("transfers leadership twice while 4 writers write; no acknowledged write is lost", { timeout: 60_000 }, async () => {
  const acked: Array<{ key: string; value: string; revision: number }> = [];
  let stop = false;
  const writers = Array.from({ length: 4 }, async (_, w) => {
    for (let n = 0; !stop && n < 500; n++) {
      const key = `t/${w}/${n % 20}`;
      const value = `${w}.${n}`;
      const r = await c.post("/v3/kv/put", { key: b64(key), value: b64(value) }, { timeoutMs: 10_000 }).catch(() => undefined);
      if (r?.status === 200) acked.push({ key, value, revision: Number(r.json.header.revision) });
    }
  });
  const transfers: string[] = [];
  for (let i = 0; i < 2; i++) {
    await new Promise((r) => setTimeout(r, 400));
    const leader = await c.waitForLeader();
    const members = (await c.post("/v3/cluster/member/list", {})).json.members as Array<{ ID: string; name: string }>;
    const target = members.find((m) => m.name !== leader)!;
    const r = await c.post("/v3/maintenance/transfer-leadership", { targetID: target.ID }, { member: leader });
    expect(r.status).toBe(200);
    const now = await c.waitForLeader();
    expect(now).toBe(target.name);
    transfers.push(`${leader}->${now}`);
  }
  await new Promise((r) => setTimeout(r, 400));
  stop = true;
  await Promise.all(writers);
  console.log(`transfers ${transfers.join(", ")}; ${acked.length} acknowledged writes`);
  expect(acked.length).toBeGreaterThan(50);
  for (const a of acked.filter((_, i) => i % 5 === 0)) {
    const member = ["m1", "m2", "m3"][a.revision % 3]!;
    let r = await c.post("/v3/kv/range", { key: b64(a.key), revision: String(a.revision), serializable: true }, { member });
    for (let i = 0; i < 100 && r.status !== 200; i++) {
      await new Promise((res) => setTimeout(res, 50));
      r = await c.post("/v3/kv/range", { key: b64(a.key), revision: String(a.revision), serializable: true }, { member });
    }
    expect(Buffer.from(r.json.kvs?.[0]?.value ?? "", "base64").toString(), `${a.key}@${a.revision} on ${member}`).toBe(a.value);
  }
});
