// The simulator's command line.
//   node test/sim/run.ts [--seeds N] [--from S] [--ticks T] [--quiet]
//   SEED=123 node test/sim/run.ts        replays one seed verbosely
// Exits non-zero on any violation, printing the seed and the command that replays it.

import { runSimulation, type SimResult } from "./simulate.ts";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function parseSeed(s: string): number {
  const n = s.startsWith("0x") ? parseInt(s.slice(2), 16) : Number(s);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`bad seed ${s}`);
  return n;
}

const ticks = arg("--ticks") ? Number(arg("--ticks")) : undefined;

function replayCommand(seed: number): string {
  return `SEED=${seed} npm run test:sim${ticks ? ` -- --ticks ${ticks}` : ""}`;
}

if (process.env.SEED) {
  const seed = parseSeed(process.env.SEED);
  const verbose = process.env.VERBOSE !== "0";
  const r = runSimulation({ seed, ticks, verbose: process.env.RAFT_LOG === "1", trace: verbose ? (l) => console.log(l) : undefined });
  report([r], 0);
} else {
  const count = Number(arg("--seeds") ?? 200);
  const from = parseSeed(arg("--from") ?? "1");
  const quiet = process.argv.includes("--quiet");
  const started = performance.now();
  const results: SimResult[] = [];
  for (let seed = from; seed < from + count; seed++) {
    const r = runSimulation({ seed, ticks });
    results.push(r);
    if (!r.ok) console.log(`FAIL seed=${seed}: ${r.error?.split("\n")[0]}\n  scenario: ${r.scenario}\n  replay: ${replayCommand(seed)}`);
    else if (!quiet && (seed - from + 1) % 500 === 0) console.log(`… ${seed - from + 1} seeds`);
  }
  report(results, performance.now() - started);
}

function report(results: SimResult[], ms: number): void {
  const failed = results.filter((r) => !r.ok);
  if (results.length === 1 && failed.length === 1) console.log(failed[0]!.error);
  const sum = (k: keyof SimResult["stats"]): number => results.reduce((a, r) => a + r.stats[k], 0);
  console.log(
    `sim: ${results.length - failed.length}/${results.length} seeds passed` +
      (ms ? ` in ${(ms / 1000).toFixed(1)}s` : "") +
      ` (ops ${sum("ops")} ok ${sum("opsOk")} unknown ${sum("opsUnknown")}, elections ${sum("elections")}, crashes ${sum("crashes")}, conf changes ${sum("confChanges")}, snapshots ${sum("snapshotsSent")}, quiesces ${sum("quiesces")}, messages ${sum("messages")}, checks ${sum("checks")})`,
  );
  if (failed.length > 0) {
    console.log(`failing seeds: ${failed.map((r) => r.seed).join(" ")}`);
    console.log(`replay: ${replayCommand(failed[0]!.seed)}`);
    process.exitCode = 1;
  }
}
