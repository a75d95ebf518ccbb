// etcd's Cluster and Maintenance services on member Durable Objects in workerd: a learner
// added at runtime starts empty and catches up by replaying the log, is refused promotion
// until in sync, is promoted and removed; etcd's refusals; status and hash fields. Time
// advances only by running alarms on demand.
import { env } from "cloudflare:workers";
import { reset } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import type { Member } from "../../src/member/member.ts";
import type { MemberStatus, UnaryResult } from "../../src/member/rpc.ts";
import type { HashResponse, MemberAddResponse, MembersResponse, StatusResponse } from "../../src/member/cluster_admin.ts";
import { fnv1a64 } from "../../src/member/identity.ts";
import { converge, electLeader, ok, put, range, statuses, stubs } from "./cluster_support.ts";

// Members keep ticking on real alarms: stop them before the file's environment is torn down
// (an alarm running then leaves vitest an RPC pending at teardown).
afterAll(() => reset());

type Stubs = Record<string, DurableObjectStub<Member>>;
const stub = (cluster: string, m: string) => env.MEMBER.getByName(`${cluster}/${m}`) as DurableObjectStub<Member>;
const idOf = (cluster: string, m: string) => fnv1a64(`member:${cluster}/${m}`);
const url = (cluster: string, m: string) => `etcdo://${cluster}/${m}`;

function failed(r: UnaryResult): { code: number; message: string } {
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.response, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`);
  return { code: r.code, message: r.message };
}

describe("cluster API on members", () => {
  it("adds a learner that catches up from the log, refuses promotion until in sync, promotes and removes it", async () => {
    const cluster = "join";
    const s: Stubs = stubs(cluster);
    const leader = await electLeader(s);
    const L = s[leader]!;
    for (let i = 0; i < 8; i++) ok(await L.unary("Put", put(`k${i}`, `v${i}`)));
    // Keep the leader from reaching m4 for now: it must not be in sync yet.
    await L.fault({ kind: "block", peers: ["m4"] });

    const added = ok<MemberAddResponse>(await L.cluster("MemberAdd", { peerURLs: [url(cluster, "m4")], isLearner: true }));
    expect(added.member).toMatchObject({ id: idOf(cluster, "m4"), name: "", peerURLs: [url(cluster, "m4")], isLearner: true });
    expect(added.header.revision).toBe(0);
    expect(added.members.map((m) => m.id)).toEqual([...added.members.map((m) => m.id)].sort((a, b) => (a < b ? -1 : 1)));
    expect(added.members.find((m) => m.id === idOf(cluster, "m4"))).toMatchObject({ name: "", isLearner: true });

    expect(failed(await L.cluster("MemberPromote", { ID: idOf(cluster, "m4") }))).toEqual({
      code: 9, message: "etcdserver: can only promote a learner member which is in sync with leader",
    });
    // A follower forwards promotion to the leader and answers the leader's refusal.
    const follower = Object.keys(s).find((m) => m !== leader)!;
    expect(failed(await s[follower]!.cluster("MemberPromote", { ID: idOf(cluster, "m4") })).message).toBe(
      "etcdserver: can only promote a learner member which is in sync with leader",
    );

    await L.fault({ kind: "block", peers: [] });
    s.m4 = stub(cluster, "m4");
    const st = await converge(s);
    expect(new Set(st.map((x) => x.applied)).size).toBe(1);
    const m4 = st.find((x) => x.member === "m4")!;
    expect(m4.learners).toEqual(["m4"]);
    expect(m4.revision).toBe(9);
    // The learner serves serializable reads and status only.
    expect(ok<{ count: number }>(await s.m4.unary("Range", range("k", "l", true))).count).toBe(8);
    expect(failed(await s.m4.unary("Range", range("k", "l")))).toEqual({ code: 14, message: "etcdserver: rpc not supported for learner" });
    expect(failed(await s.m4.unary("Put", put("x", "y"))).message).toBe("etcdserver: rpc not supported for learner");
    expect(failed(await s.m4.cluster("MemberList", {})).message).toBe("etcdserver: rpc not supported for learner");
    expect(ok<StatusResponse>(await s.m4.cluster("Status", {})).isLearner).toBe(true);

    // Started: the learner publishes its name through the log (retried every few ticks until
    // applied); then every member lists the same.
    for (let i = 0; i < 60; i++) {
      await converge(s);
      const listed = ok<MembersResponse>(await L.cluster("MemberList", {})).members.find((m) => m.id === idOf(cluster, "m4"));
      if (listed?.name === "m4") break;
    }
    await converge(s);
    const lists = await Promise.all(Object.keys(s).filter((m) => m !== "m4").map(async (m) => ok<MembersResponse>(await s[m]!.cluster("MemberList", {})).members));
    for (const l of lists) expect(l).toEqual(lists[0]);
    expect(lists[0]!.find((m) => m.id === idOf(cluster, "m4"))).toMatchObject({ name: "m4", isLearner: true });

    const promoted = ok<MembersResponse>(await L.cluster("MemberPromote", { ID: idOf(cluster, "m4") }));
    expect(promoted.members.find((m) => m.id === idOf(cluster, "m4"))!.isLearner).toBe(false);
    expect(failed(await L.cluster("MemberPromote", { ID: idOf(cluster, "m4") }))).toEqual({
      code: 9, message: "etcdserver: can only promote a learner member",
    });
    await converge(s);
    expect((await statuses(s)).every((x) => x.voters.length === 4 && x.learners.length === 0)).toBe(true);
    // m4 now votes: its write path works too.
    ok(await s.m4.unary("Put", put("from-m4", "1")));

    const removed = ok<MembersResponse>(await L.cluster("MemberRemove", { ID: idOf(cluster, "m4") }));
    expect(removed.members.map((m) => m.id)).not.toContain(idOf(cluster, "m4"));
    await converge(s);
    // The removed member refuses everything once it knows (its own removal, or a peer's notice).
    expect(failed(await s.m4.unary("Range", range("k", "l", true)))).toEqual({ code: 14, message: "etcdserver: server stopped" });
    expect(failed(await s.m4.cluster("Status", {})).message).toBe("etcdserver: server stopped");
    expect(((await s.m4.clusterView()) as { removed: boolean }).removed).toBe(true);
    // A removed ID never comes back.
    expect(failed(await L.cluster("MemberAdd", { peerURLs: [url(cluster, "m4")], isLearner: true }))).toEqual({
      code: 5, message: "etcdserver: member not found",
    });
    expect(failed(await L.cluster("MemberRemove", { ID: idOf(cluster, "m4") }))).toEqual({ code: 5, message: "etcdserver: member not found" });
    await converge(s); // let replication in flight settle before the test ends
  });

  it("refuses what etcd refuses", async () => {
    const cluster = "refuse";
    const s: Stubs = stubs(cluster);
    const L = s[await electLeader(s)]!;
    const add = (m: string, isLearner: boolean, peerURLs = [url(cluster, m)]) => L.cluster("MemberAdd", { peerURLs, isLearner });
    for (const bad of [[], ["http://127.0.0.1:2380"], [url("other", "m4")], [url(cluster, "a/b")], [url(cluster, "m4"), url(cluster, "m5")]]) {
      expect(failed(await add("m4", true, bad))).toEqual({ code: 3, message: "etcdserver: given member URLs are invalid" });
    }
    expect(failed(await add("m2", false))).toEqual({ code: 9, message: "etcdserver: member ID already exist" });
    expect(failed(await L.cluster("MemberRemove", { ID: 5n }))).toEqual({ code: 5, message: "etcdserver: member not found" });
    expect(failed(await L.cluster("MemberPromote", { ID: 5n }))).toEqual({ code: 5, message: "etcdserver: member not found" });
    expect(failed(await L.cluster("MemberPromote", { ID: idOf(cluster, "m2") }))).toEqual({ code: 9, message: "etcdserver: can only promote a learner member" });
    expect(failed(await L.cluster("MemberUpdate", { ID: 5n, peerURLs: [url(cluster, "m9")] }))).toEqual({ code: 5, message: "etcdserver: member not found" });
    expect(failed(await L.cluster("MemberUpdate", { ID: idOf(cluster, "m1"), peerURLs: [url(cluster, "m2")] }))).toEqual({
      code: 9, message: "etcdserver: Peer URLs already exists",
    });
    expect(failed(await L.cluster("MemberUpdate", { ID: idOf(cluster, "m1"), peerURLs: [url(cluster, "m9")] })).message).toBe(
      "etcdserver: given member URLs are invalid",
    );
    ok(await L.cluster("MemberUpdate", { ID: idOf(cluster, "m1"), peerURLs: [url(cluster, "m1")] }));

    // New members that never start (nobody reaches them) do not count as started: with 3
    // started voters and 2 unstarted ones, a sixth voter would leave the quorum unstarted.
    for (const m of Object.values(s)) await m.fault({ kind: "block", peers: ["m4", "m5", "m6"] });
    ok(await add("m4", true));
    expect(failed(await add("m5", true))).toEqual({ code: 9, message: "etcdserver: too many learner members in cluster" });
    ok(await add("m5", false));
    ok(await add("m6", false));
    expect(failed(await add("m7", false))).toEqual({
      code: 2, message: "etcdserver: re-configuration failed due to not enough started members",
    });
    expect(failed(await L.cluster("MemberRemove", { ID: idOf(cluster, L === s.m1 ? "m2" : "m1") }))).toEqual({
      code: 2, message: "etcdserver: re-configuration failed due to not enough started members",
    });
    await converge(s); // let replication in flight settle before the test ends
  });

  it("reports status and equal hashes on every member, raises and clears alarms, moves leadership", async () => {
    const cluster = "maint";
    const s: Stubs = stubs(cluster);
    const leader = await electLeader(s);
    for (let i = 0; i < 5; i++) ok(await s.m1!.unary("Put", put(`h${i}`, "v")));
    ok(await s.m2!.unary("DeleteRange", { key: new TextEncoder().encode("h0"), rangeEnd: new Uint8Array(0), prevKv: false }));
    await converge(s);
    const st = ok<StatusResponse>(await s.m3!.cluster("Status", {}));
    expect(st).toMatchObject({
      version: "3.4.23", leader: idOf(cluster, leader), isLearner: false, errors: [],
      header: { clusterId: fnv1a64(`cluster:${cluster}`), memberId: idOf(cluster, "m3"), revision: 7 },
    });
    expect(st.raftIndex).toBeGreaterThanOrEqual(st.raftAppliedIndex);
    expect(st.raftAppliedIndex).toBeGreaterThan(5);
    expect(st.dbSize).toBeGreaterThan(0);
    expect(st.dbSizeInUse).toBeGreaterThan(0);
    expect(st.dbSizeInUse).toBeLessThanOrEqual(st.dbSize);

    const hashes = await Promise.all(Object.values(s).map(async (m) => ok<HashResponse>(await m.cluster("Hash", {}))));
    expect(new Set(hashes.map((h) => h.hash)).size).toBe(1);
    expect(hashes[0]!.hash).not.toBe(0);
    const atRev = await Promise.all(Object.values(s).map(async (m) => ok<{ hash: number }>(await m.cluster("HashKV", { revision: 4 })).hash));
    expect(new Set(atRev).size).toBe(1);
    expect(atRev[0]).not.toBe(hashes[0]!.hash);

    expect(ok(await s.m2!.cluster("Alarm", { action: 0, memberID: 0n, alarm: 0 }))).toEqual({ alarms: [] });
    expect(ok(await s.m2!.cluster("Alarm", { action: 1, memberID: idOf(cluster, "m2"), alarm: 1 }))).toEqual({
      alarms: [{ memberID: idOf(cluster, "m2"), alarm: 1 }],
    });
    await converge(s);
    for (const m of Object.values(s)) {
      expect(failed(await m.unary("Put", put("x", "y")))).toEqual({ code: 8, message: "etcdserver: mvcc: database space exceeded" });
      expect(ok<StatusResponse>(await m.cluster("Status", {})).errors).toEqual([`memberID:${idOf(cluster, "m2")} alarm:NOSPACE `]);
    }
    ok(await s.m1!.unary("Range", range("h", "i")));
    ok(await s.m1!.unary("DeleteRange", { key: new TextEncoder().encode("h1"), rangeEnd: new Uint8Array(0), prevKv: false }));
    expect(ok(await s.m3!.cluster("Alarm", { action: 2, memberID: idOf(cluster, "m2"), alarm: 1 }))).toEqual({
      alarms: [{ memberID: idOf(cluster, "m2"), alarm: 1 }],
    });
    expect(ok(await s.m3!.cluster("Alarm", { action: 2, memberID: idOf(cluster, "m2"), alarm: 1 }))).toEqual({ alarms: [] });
    await converge(s);
    ok(await s.m1!.unary("Put", put("x", "y")));

    expect(ok(await s.m1!.cluster("Defragment", {}))).toEqual({});

    const follower = Object.keys(s).find((m) => m !== leader)!;
    expect(failed(await s[follower]!.cluster("MoveLeader", { targetID: idOf(cluster, leader) }))).toEqual({
      code: 9, message: "etcdserver: not leader",
    });
    expect(failed(await s[leader]!.cluster("MoveLeader", { targetID: 5n }))).toEqual({ code: 9, message: "etcdserver: bad leader transferee" });
    expect(ok(await s[leader]!.cluster("MoveLeader", { targetID: idOf(cluster, leader) }))).toEqual({});
    expect(ok(await s[leader]!.cluster("MoveLeader", { targetID: idOf(cluster, follower) }))).toEqual({});
    expect(((await s[follower]!.status()) as MemberStatus).role).toBe("Leader");
  });
});
