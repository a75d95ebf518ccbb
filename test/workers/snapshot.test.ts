// Raft log compaction and catch-up by snapshot on member Durable Objects in workerd (the
// workers project runs with ETCDO_SNAPSHOT_COUNT=100 and ETCDO_SNAPSHOT_CATCHUP_ENTRIES=10):
// a member cut off while the others write past the compaction point, and a learner added
// after it, are caught up by a snapshot shipped in chunks, then keep applying from the log.
import { env } from "cloudflare:workers";
import { reset } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import type { HashKVResponse } from "../../src/member/cluster_admin.ts";
import type { Member } from "../../src/member/member.ts";
import type { MemberStatus } from "../../src/member/rpc.ts";
import { converge, electLeader, ok, put, range, stubs, tickAll } from "./cluster_support.ts";

// Members keep ticking on real alarms: stop them before the file's environment is torn down
// (an alarm running then leaves vitest an RPC pending at teardown).
afterAll(() => reset());

type Stubs = Record<string, DurableObjectStub<Member>>;
const url = (cluster: string, m: string) => `etcdo://${cluster}/${m}`;

/** n puts through the leader, 20 at a time (they share raft messages). */
async function writes(L: DurableObjectStub<Member>, prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, n - i) }, (_, j) => L.unary("Put", put(`${prefix}${(i + j) % 13}`, `${prefix}-${i + j}`)).then(ok)));
  }
}

async function hashAt(m: DurableObjectStub<Member>, revision: number): Promise<number> {
  return ok<HashKVResponse>(await m.cluster("HashKV", { revision })).hash;
}

describe("catch-up by snapshot", () => {
  it("restores a partitioned follower from a snapshot once the log it needs was compacted", async () => {
    const cluster = "snap-partition";
    const s: Stubs = stubs(cluster);
    const leader = await electLeader(s);
    const L = s[leader]!;
    const victim = Object.keys(s).find((m) => m !== leader)!;
    await writes(L, "a", 5);
    await converge(s, 60);
    const others = Object.keys(s).filter((m) => m !== victim);
    await s[victim]!.fault({ kind: "block", peers: others });
    for (const m of others) await s[m]!.fault({ kind: "block", peers: [victim] });

    await writes(L, "b", 240);
    const lst = (await L.status()) as MemberStatus;
    const vst = (await s[victim]!.status()) as MemberStatus;
    expect(lst.snapshotIndex).toBeGreaterThan(100);
    expect(lst.firstIndex).toBeGreaterThan(vst.applied + 1);

    for (const m of Object.keys(s)) await s[m]!.fault({ kind: "block", peers: [] });
    const st = await converge(s, 60);
    expect(new Set(st.map((x) => x.applied)).size).toBe(1);
    const v = st.find((x) => x.member === victim)!;
    expect(v.snapshotsInstalled).toBeGreaterThanOrEqual(1);
    expect(v.firstIndex).toBeGreaterThan(vst.applied + 1);
    const rev = st.find((x) => x.member === leader)!.revision;
    expect(v.revision).toBe(rev);
    expect(await hashAt(s[victim]!, rev)).toBe(await hashAt(L, rev));

    // It keeps applying from the log afterwards.
    await writes(L, "c", 15);
    const after = await converge(s, 60);
    expect(new Set(after.map((x) => x.applied)).size).toBe(1);
    const rev2 = after[0]!.revision;
    expect(await hashAt(s[victim]!, rev2)).toBe(await hashAt(L, rev2));
    expect(ok<{ count: number }>(await s[victim]!.unary("Range", range("c", "d", true))).count).toBe(13);
  });

  it("catches up a learner added after compaction by snapshot", async () => {
    const cluster = "snap-join";
    const s: Stubs = stubs(cluster);
    const leader = await electLeader(s);
    const L = s[leader]!;
    await writes(L, "k", 240);
    await converge(s, 60);
    expect(((await L.status()) as MemberStatus).firstIndex).toBeGreaterThan(1);

    ok(await L.cluster("MemberAdd", { peerURLs: [url(cluster, "m4")], isLearner: true }));
    s.m4 = env.MEMBER.getByName(`${cluster}/m4`) as DurableObjectStub<Member>;
    const st = await converge(s, 60);
    expect(new Set(st.map((x) => x.applied)).size).toBe(1);
    const m4 = st.find((x) => x.member === "m4")!;
    expect(m4.snapshotsInstalled).toBe(1);
    expect(m4.learners).toEqual(["m4"]);
    expect(m4.revision).toBe(st.find((x) => x.member === leader)!.revision);
    expect(ok<{ count: number }>(await s.m4.unary("Range", range("k", "l", true))).count).toBe(13);

    await writes(L, "z", 10);
    const after = await converge(s, 60);
    expect(new Set(after.map((x) => x.applied)).size).toBe(1);
    expect(ok<{ count: number }>(await s.m4.unary("Range", range("z", "{", true))).count).toBe(10);
    await tickAll(s, 3);
  });
});
