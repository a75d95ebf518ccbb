// A fixed set of simulator seeds run on every `npm test`: mixed faults, 3 and 5 members,
// membership changes in some. Any violation fails with the seed and the replay command.
// The long run is `npm run test:sim -- --seeds 10000`.

import { describe, expect, it } from "vitest";
import { runSimulation, type SimOptions } from "./simulate.ts";

function check(o: SimOptions): void {
  const r = runSimulation(o);
  if (!r.ok) {
    throw new Error(`simulation failed, seed=${o.seed}: ${r.error}\n  scenario: ${r.scenario}\n  replay: SEED=${o.seed} npm run test:sim`);
  }
  expect(r.stats.elections).toBeGreaterThan(0);
}

describe("deterministic cluster simulation", { timeout: 60_000 }, () => {
  it("replays a seed identically", () => {
    const a = runSimulation({ seed: 4242 });
    const b = runSimulation({ seed: 4242 });
    expect(a.ok).toBe(true);
    expect(b.stats).toEqual(a.stats);
  });

  it("seeds that once found bugs (each fix also has a unit test)", () => {
    // 17335: snapshot restored while committed conf changes were still being applied.
    // 23513, 52837, 59849: stale-term appends ignored without PreVote/CheckQuorum.
    // 50858: stale-term vote requests ignored.
    // 1127, 7634, 5257: simulator harness bugs (snapshot report, convergence, checker).
    for (const seed of [17335, 23513, 52837, 59849, 50858, 1127, 7634, 5257]) check({ seed });
  });

  it("3 members, mixed faults", () => {
    for (let seed = 1; seed <= 400; seed++) check({ seed, members: 3, membership: false });
  });

  it("5 members, mixed faults", () => {
    for (let seed = 1001; seed <= 1400; seed++) check({ seed, members: 5, membership: false });
  });

  it("membership changes under mixed faults", () => {
    for (let seed = 2001; seed <= 2600; seed++) check({ seed, membership: true, members: seed % 2 === 0 ? 3 : 5 });
  });

  it("seeds from the default long-run range", () => {
    for (let seed = 1; seed <= 600; seed++) check({ seed });
  });
});
