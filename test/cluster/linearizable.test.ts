// Concurrent clients against the local 3-member cluster while members are partitioned,
// paused and crashed; the recorded history must be linearizable (checked with the project's
// checker), no acknowledged write may be lost, and the members must converge.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkLinearizable, describeFailure, registerModel, type HistoryOp, type RegisterInput, type RegisterOutput } from "../sim/linearizability.ts";
import { prng } from "../../src/util/prng.ts";
import { b64, startTestCluster, type TestCluster } from "./support.ts";

const SEED = Number(process.env.SEED ?? 20261122);
const CLIENTS = 6;
const KEYS = ["k0", "k1", "k2"];
const RUN_MS = 12_000;

let c: TestCluster;
beforeAll(async () => {
  // Small snapshot thresholds: members compact their logs several times during the run, so
  // a member back from a crash or a partition is often caught up by snapshot.
  c = await startTestCluster({ ETCDO_SNAPSHOT_COUNT: "10", ETCDO_SNAPSHOT_CATCHUP_ENTRIES: "2" });
  await c.waitForLeader();
});
afterAll(async () => c?.dispose());

type Op = HistoryOp<RegisterInput, RegisterOutput>;

async function client(id: number, history: Op[], until: number, acked: Map<string, { key: string; revision: number }>): Promise<void> {
  const rng = prng(`${SEED}/client/${id}`);
  let n = 0;
  while (Date.now() < until) {
    const key = rng.pick(KEYS);
    const kind = rng.pick(["put", "get", "get", "cas"] as const);
    const value = `c${id}-${n++}`;
    const invokeTime = performance.now();
    const rec = (input: RegisterInput, output: RegisterOutput | null) =>
      history.push({ clientId: `c${id}`, key, op: kind, input, output, invokeTime, returnTime: output === null ? Infinity : performance.now() });
    try {
      if (kind === "put") {
        const r = await c.post("/v3/kv/put", { key: b64(key), value: b64(value) }, { timeoutMs: 4000 });
        if (r.status === 200) {
          rec({ value }, {});
          acked.set(value, { key, revision: Number(r.json.header.revision) });
        } else rec({ value }, null);
      } else if (kind === "get") {
        const r = await c.post("/v3/kv/range", { key: b64(key) }, { timeoutMs: 4000 });
        if (r.status === 200) {
          const kv = r.json.kvs?.[0];
          rec({}, { value: kv ? Buffer.from(kv.value ?? "", "base64").toString() : null });
        }
      } else {
        const current = history.filter((h) => h.key === key && h.output && "value" in h.output).at(-1);
        const expected = (current?.output?.value as string | null | undefined) ?? null;
        const compare = expected === null
          ? [{ target: "VERSION", key: b64(key), version: "0" }]
          : [{ target: "VALUE", key: b64(key), value: b64(expected) }];
        const r = await c.post("/v3/kv/txn", { compare, success: [{ request_put: { key: b64(key), value: b64(value) } }] }, { timeoutMs: 4000 });
        if (r.status === 200) {
          rec({ value, expected }, { ok: !!r.json.succeeded });
          if (r.json.succeeded) acked.set(value, { key, revision: Number(r.json.header.revision) });
        } else rec({ value, expected }, null);
      }
    } catch {
      if (kind !== "get") rec(kind === "put" ? { value } : { value, expected: null }, null);
    }
  }
}

async function faults(until: number): Promise<string[]> {
  const rng = prng(`${SEED}/faults`);
  const log: string[] = [];
  const members = ["m1", "m2", "m3"];
  while (Date.now() < until - 3000) {
    const s = await c.status();
    const leader = s.leader || rng.pick(members);
    const kind = rng.pick(["isolate-leader", "crash", "pause", "crash-leader"] as const);
    if (kind === "isolate-leader") {
      await c.fault({ action: "partition", groups: [[leader], members.filter((m) => m !== leader)] });
      await new Promise((r) => setTimeout(r, 800));
      await c.fault({ action: "heal" });
    } else if (kind === "crash" || kind === "crash-leader") {
      await c.fault({ action: "crash", member: kind === "crash" ? rng.pick(members) : leader });
    } else {
      await c.fault({ action: "pause", member: rng.pick(members), ms: 500 });
    }
    log.push(`${kind} (leader was ${leader})`);
    await new Promise((r) => setTimeout(r, 700));
  }
  await c.fault({ action: "heal" });
  return log;
}

describe(`cluster under faults (SEED=${SEED})`, () => {
  it("keeps client histories linearizable, loses no acknowledged write, converges", { timeout: 90_000 }, async () => {
    const history: Op[] = [];
    const acked = new Map<string, { key: string; revision: number }>();
    const until = Date.now() + RUN_MS;
    const [faultLog] = await Promise.all([faults(until), ...Array.from({ length: CLIENTS }, (_, i) => client(i, history, until, acked))]);
    const completed = history.filter((h) => h.output !== null).length;
    expect(faultLog.length).toBeGreaterThan(2);
    expect(completed).toBeGreaterThan(100); // the cluster made progress between faults
    console.log(`${history.length} operations (${completed} completed, ${acked.size} acknowledged writes); faults: ${faultLog.join(", ")}`);

    const result = checkLinearizable(registerModel, history);
    if (!result.ok) throw new Error(`SEED=${SEED}: ${describeFailure(registerModel, result)}\nfaults: ${faultLog.join(", ")}`);

    // Converge: every member applies the same log and holds the same data.
    await c.waitForLeader();
    const done = await c.post("/v3/kv/put", { key: b64("final"), value: b64("x") });
    expect(done.status).toBe(200);
    const rev = Number(done.json.header.revision);
    const dumps: string[] = [];
    for (const m of ["m1", "m2", "m3"]) {
      let dump = "";
      for (let i = 0; i < 200; i++) {
        const r = await c.post("/v3/kv/range", { key: "AA==", range_end: "AA==", serializable: true }, { member: m });
        if (r.status === 200 && Number(r.json.header.revision) >= rev) {
          dump = JSON.stringify(r.json.kvs);
          break;
        }
        await new Promise((res) => setTimeout(res, 50));
      }
      dumps.push(dump);
    }
    expect(dumps[0]).not.toBe("");
    expect(new Set(dumps).size).toBe(1);
    // Every member compacted its log along the way.
    const st = await c.status();
    for (const m of st.members) expect(m.snapshotIndex, m.member).toBeGreaterThan(0);
    console.log(`snapshots installed since each member's last start: ${st.members.map((m) => `${m.member}=${m.snapshotsInstalled}`).join(" ")}`);
    // No acknowledged write was lost: each one is the key's value at the revision it was
    // acknowledged with, on every member.
    expect(acked.size).toBeGreaterThan(10);
    for (const [value, { key, revision }] of acked) {
      const member = ["m1", "m2", "m3"][revision % 3]!;
      const r = await c.post("/v3/kv/range", { key: b64(key), revision: String(revision), serializable: true }, { member });
      expect(r.status).toBe(200);
      expect(Buffer.from(r.json.kvs?.[0]?.value ?? "", "base64").toString(), `${key}@${revision} on ${member}`).toBe(value);
    }
  });
});
