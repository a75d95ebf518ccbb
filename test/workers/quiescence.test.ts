// An idle cluster stops ticking: the leader quiesces once nothing has happened for two
// election timeouts, every member clears its tick timer (its alarm, when no other timer is
// due), and a request wakes them all again. Alarms run on demand; nothing waits on time.
import { reset, runInDurableObject } from "cloudflare:test";
import { afterAll, expect, it } from "vitest";
import type { Member } from "../../src/member/member.ts";
import type { MemberStatus } from "../../src/member/rpc.ts";
import { electLeader, ok, put, range, statuses, stubs, tickAll } from "./cluster_support.ts";

afterAll(() => reset());

type Stubs = ReturnType<typeof stubs>;
const alarms = (s: Stubs) => Promise.all(Object.values(s).map((x) => runInDurableObject(x, (_m: Member, state: DurableObjectState) => state.storage.getAlarm())));

/** Runs the members' alarms until none is left (every member stopped ticking). */
async function untilQuiet(s: Stubs, maxRounds = 200): Promise<MemberStatus[]> {
  for (let i = 0; i < maxRounds; i++) {
    await tickAll(s);
    const st = await statuses(s);
    if (st.every((x) => !x.ticking)) return st;
  }
  throw new Error(`still ticking: ${JSON.stringify(await statuses(s))}`);
}

it("stops every member's ticks when idle and wakes them with a request", async () => {
  const s = stubs("quiesce");
  const leader = await electLeader(s);
  ok(await s[leader]!.unary("Put", put("k", "1")));
  const quiet = await untilQuiet(s);
  expect(quiet.every((x) => x.quiesced && x.revision === 2 && x.leader === leader)).toBe(true);
  expect(await alarms(s)).toEqual([null, null, null]);

  // A write through a follower wakes it, the leader and the other follower.
  const follower = Object.keys(s).find((m) => m !== leader)!;
  ok(await s[follower]!.unary("Put", put("k", "2")));
  let st = await statuses(s);
  for (let i = 0; i < 50 && !st.every((x) => x.revision === 3 && !x.quiesced); i++) {
    await tickAll(s);
    st = await statuses(s);
  }
  expect(st.map((x) => [x.revision, x.quiesced, x.leader])).toEqual(Object.keys(s).map(() => [3, false, leader]));
  // Linearizable reads work on the woken cluster, and it goes quiet again.
  expect((ok(await s[follower]!.unary("Range", range("k"))) as { kvs: unknown[] }).kvs).toHaveLength(1);
  await untilQuiet(s);
});

it("keeps ticking while a lease lives (its expiry runs on the leader's clock)", async () => {
  const s = stubs("quiesce-lease");
  const leader = await electLeader(s);
  ok(await s[leader]!.unary("LeaseGrant", { ID: 0n, TTL: 3600 }));
  await tickAll(s, 60); // well past the idle time
  const st = await statuses(s);
  expect(st.find((x) => x.member === leader)).toMatchObject({ quiesced: false, ticking: true });
});
