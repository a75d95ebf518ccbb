// The watch checker on the 3-member cluster while members crash and the leader is cut off:
// a watch on a failed member ends in a way the client resumes from (last revision + 1), and
// every guarantee (ordered, unique, atomic, no gaps, prev_kv, bookmarks) holds against the
// true history, read back from the server for writes whose answers were lost.
import { afterAll, beforeAll, expect, it } from "vitest";
import { prng } from "../../src/util/prng.ts";
import { runWatchCheck } from "../watch/checker.ts";
import { startTestCluster, type TestCluster } from "./support.ts";

const SEED = Number(process.env.SEED ?? 11);

let c: TestCluster;
beforeAll(async () => {
  c = await startTestCluster({ ETCDO_WATCH_PROGRESS_MS: "300" });
  await c.waitForLeader();
});
afterAll(async () => c?.dispose());

it(`watch guarantees hold through crashes and partitions (SEED=${SEED})`, { timeout: 120_000 }, async () => {
  const rng = prng(`${SEED}/watch-faults`);
  const members = ["m1", "m2", "m3"];
  const faults: string[] = [];
  let healAt = 0;
  const r = await runWatchCheck({
    url: c.url,
    seed: SEED,
    prefix: "wf/",
    transports: ["http", "ws", "mux"],
    watchers: 30,
    writers: 3,
    opsPerWriter: 50,
    tolerateWriteFailures: true,
    settleTimeoutMs: 30_000,
    // No liveness probes: a crashed member's streams must end by themselves (never silently),
    // or their watchers miss events and the check fails.
    async onWrite(writes) {
      if (healAt && writes >= healAt) {
        healAt = 0;
        await c.fault({ action: "heal" });
        faults.push(`heal@${writes}`);
      }
      // Faults stop well before the last write, so everything heals before the watchers settle.
      if (writes % 25 !== 0 || writes > 110) return;
      const s = await c.status();
      if (rng.chance(0.5)) {
        const victim = rng.pick(members);
        await c.fault({ action: "crash", member: victim });
        faults.push(`crash ${victim}@${writes}`);
      } else if (s.leader) {
        await c.fault({ action: "partition", groups: [[s.leader], members.filter((m) => m !== s.leader)] });
        faults.push(`isolate ${s.leader}@${writes}`);
        healAt = writes + 8;
      }
    },
  });
  await c.fault({ action: "heal" });
  console.log(`watch under faults (SEED=${SEED}): ${JSON.stringify({ ...r, violations: r.violations.length })}; faults: ${faults.join(", ")}`);
  for (const v of r.violations.slice(0, 30)) console.log(`  ${v}`);
  expect(faults.length).toBeGreaterThan(2);
  if (faults.some((f) => f.startsWith("crash"))) expect(r.serverEnds).toBeGreaterThan(0);
  expect(r.violations, `SEED=${SEED}`).toEqual([]);
  expect(r.events).toBeGreaterThan(50);
  expect(r.delivered).toBeGreaterThan(r.events);
});
