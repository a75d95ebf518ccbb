// Quiescence on the 3-member cluster with real alarms: an idle cluster stops ticking, and a
// write after its leader crashed while everyone slept still succeeds (the request wakes the
// members, an election follows) and is on every member afterwards.
import { afterAll, beforeAll, expect, it } from "vitest";
import { b64, startTestCluster, type TestCluster } from "./support.ts";

let c: TestCluster;
beforeAll(async () => {
  c = await startTestCluster({ ETCDO_QUIESCE_TICKS: "10" });
  await c.waitForLeader();
});
afterAll(async () => c?.dispose());

/** Polls the members' status until every one has stopped ticking (bounded). */
async function untilQuiet(maxMs = 10_000) {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const s = await c.status();
    if (s.members.every((m) => m.quiesced && !m.ticking)) return s;
    if (Date.now() > deadline) throw new Error(`still ticking: ${JSON.stringify(s.members)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it("stops ticking when idle; a write after the sleeping leader crashed wakes the cluster and lands everywhere", { timeout: 60_000 }, async () => {
  expect((await c.post("/v3/kv/put", { key: b64("q/1"), value: b64("a") })).status).toBe(200);
  const quiet = await untilQuiet();
  const leader = quiet.leader;
  expect(leader).toBeTruthy();

  await c.fault({ action: "crash", member: leader });
  let put: { status: number; json: any } | undefined;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    put = await c.post("/v3/kv/put", { key: b64("q/2"), value: b64("b") }, { timeoutMs: 5_000 }).catch(() => undefined);
    if (put?.status === 200) break;
  }
  expect(put?.status).toBe(200);
  const revision = Number(put!.json.header.revision);
  const after = await c.waitForLeader();
  for (const member of ["m1", "m2", "m3"]) {
    const r = await c.post("/v3/kv/range", { key: b64("q/2") }, { member });
    expect(r.json.kvs?.[0]?.mod_revision, member).toBe(String(revision));
  }
  // And it goes quiet again under its (possibly new) leader.
  expect((await untilQuiet()).leader).toBe(after);
});
