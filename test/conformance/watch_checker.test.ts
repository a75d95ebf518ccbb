// The watch checker (test/watch/checker.ts) against a real etcd (which keeps the checker
// honest) and against etcdo on a local cluster, with every transport.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startEtcd, type EtcdServer } from "../support/etcd.ts";
import { runWatchCheck, type CheckReport } from "../watch/checker.ts";
import { describeConformance } from "./harness.ts";

const localClusterPath = new URL("../../scripts/lib/local-cluster.mjs", import.meta.url).pathname;
const SEED = Number(process.env.SEED ?? 7);

function expectClean(r: CheckReport, wantProgress = true): void {
  console.log(`watch checker (seed ${SEED}): ${JSON.stringify({ ...r, violations: r.violations.length })}`);
  for (const v of r.violations.slice(0, 30)) console.log(`  ${v}`);
  expect(r.violations, `seed ${SEED}`).toEqual([]);
  expect(r.delivered).toBeGreaterThan(r.events); // overlapping watchers saw events several times
  expect(r.resumes).toBeGreaterThan(0);
  if (wantProgress) expect(r.progress).toBeGreaterThan(0);
}

describeConformance("watch checker", () => {
  let etcd: EtcdServer;
  let etcdo: { url: string; dispose(): Promise<void> };
  beforeAll(async () => {
    etcd = await startEtcd({ args: ["--experimental-watch-progress-notify-interval=300ms"] });
    const mod = (await import(localClusterPath)) as {
      startLocalCluster(o: object): Promise<{ url: string; dispose(): Promise<void> }>;
    };
    etcdo = await mod.startLocalCluster({ port: 0, members: ["m1", "m2", "m3"], vars: { ETCDO_WATCH_PROGRESS_MS: "300" } });
  });
  afterAll(async () => {
    await etcd?.stop();
    await etcdo?.dispose();
  });

  it("holds against etcd 3.4 (HTTP and WebSocket)", async () => {
    // Without stream-wide progress requests: etcd 3.4 answers them ahead of pending events.
    const r = await runWatchCheck({ url: etcd.url, seed: SEED, prefix: "chk1/", transports: ["http", "ws"], progressRequests: false });
    expectClean(r, false);
  });

  it("holds against etcdo on three members (HTTP, WebSocket, multiplexed socket)", async () => {
    const r = await runWatchCheck({
      url: etcdo.url,
      seed: SEED,
      prefix: "chk1/",
      transports: ["http", "ws", "mux"],
      watchers: 45,
      writers: 4,
      opsPerWriter: 60,
    });
    expectClean(r);
  });
});
