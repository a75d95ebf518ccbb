// The replicated membership store through EtcdNode, without the platform: a member added at
// runtime starts empty, learns the configuration from the leader's log, and every member
// lists the same members; refused changes are refused identically everywhere.
import { describe, expect, it } from "vitest";
import { fnv1a64 } from "../../src/member/identity.ts";
import {
  Membership,
  isReadyToAddVotingMember,
  memberNaming,
  newMemberRecord,
  type ConfChangeContext,
  type MembershipResult,
} from "../../src/server/membership.ts";
import { openMemoryDb } from "../support/node-sqlite.ts";
import { NodeCluster } from "./node_cluster.ts";

const naming = memberNaming("c1");
const initial = ["m1", "m2", "m3"];

/** Membership changes through the leader, each settled before its result is read. */
class MembershipCluster extends NodeCluster {
  constructor() {
    super({ members: initial, node: { naming } });
  }
  change(c: ConfChangeContext): MembershipResult {
    expect(this.elect().proposeMemberChange(c)).toBeNull();
    this.settle(30);
    return this.membership.find((r) => r.id === c.req)!;
  }
}

describe("membership", () => {
  it("names members like the member objects' identity", () => {
    expect(naming.idOf("m2")).toBe(fnv1a64("member:c1/m2"));
    expect(naming.peerUrlOf("m2")).toBe("etcdo://c1/m2");
    expect(naming.nodeOfPeerUrl("etcdo://c1/m2")).toBe("m2");
    for (const bad of ["etcdo://c2/m2", "http://127.0.0.1:2380", "etcdo://c1/", "etcdo://c1/a/b", "etcdo://c1/-x"]) {
      expect(naming.nodeOfPeerUrl(bad)).toBeNull();
    }
  });

  it("bootstraps the initial members into the log: identical lists, named, ordered by ID", () => {
    const c = new MembershipCluster();
    c.elect();
    c.settle(30);
    const lists = [...c.nodes.values()].map((n) => n.membership.list());
    expect(lists[0]!.map((m) => m.node).sort()).toEqual(initial);
    expect(lists[0]!.every((m) => m.name === m.node && !m.isLearner)).toBe(true);
    const ids = lists[0]!.map((m) => m.id);
    expect([...ids].sort((a, b) => (a < b ? -1 : 1))).toEqual(ids);
    for (const l of lists) expect(l).toEqual(lists[0]);
  });

  it("adds a learner that starts empty, replays the log, is promoted and removed", () => {
    const c = new MembershipCluster();
    const leader = c.elect();
    c.settle(30);
    for (let i = 0; i < 5; i++) leader.propose({ op: "put", id: 100 + i, request: { key: new Uint8Array([97 + i]), value: new Uint8Array([1]), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } });
    c.settle(30);
    const m4 = newMemberRecord(naming, "m4", [naming.peerUrlOf("m4")], true);
    const added = c.change({ req: 1, kind: "add", member: m4 });
    expect(added.error).toBeUndefined();
    expect(added.members!.find((m) => m.node === "m4")).toMatchObject({ isLearner: true, name: "" });
    // A second learner is one too many; the same ID again exists.
    expect(c.change({ req: 2, kind: "add", member: newMemberRecord(naming, "m5", [naming.peerUrlOf("m5")], true) }).error?.message)
      .toBe("etcdserver: too many learner members in cluster");
    expect(c.change({ req: 3, kind: "add", member: m4 }).error?.message).toBe("etcdserver: member ID already exist");

    // The new member's object starts with empty storage: it is not an initial member.
    c.start("m4");
    c.settle(60);
    const n4 = c.nodes.get("m4")!;
    expect(n4.applier.revision()).toBe(6);
    expect(n4.members().learners).toEqual(["m4"]);
    expect(n4.membership.list()).toEqual(c.leader()!.membership.list());

    expect(c.change({ req: 4, kind: "promote", id: m4.id, node: "m4" }).error).toBeUndefined();
    expect(c.change({ req: 5, kind: "promote", id: m4.id, node: "m4" }).error?.message).toBe("etcdserver: can only promote a learner member");
    expect(c.leader()!.members().voters.sort()).toEqual(["m1", "m2", "m3", "m4"]);

    const removed = c.change({ req: 6, kind: "remove", id: m4.id, node: "m4" });
    expect(removed.members!.map((m) => m.node).sort()).toEqual(initial);
    expect(c.leader()!.membership.isRemoved(m4.id)).toBe(true);
    // A removed ID never comes back (etcd answers "member not found").
    expect(c.change({ req: 7, kind: "add", member: { ...m4, isLearner: false } }).error?.message).toBe("etcdserver: member not found");
    expect(c.change({ req: 8, kind: "remove", id: m4.id, node: "m4" }).error?.message).toBe("etcdserver: member not found");
    for (const id of initial) expect(c.nodes.get(id)!.membership.list()).toEqual(c.leader()!.membership.list());
  });

  it("applies attributes and alarms through the log", () => {
    const c = new MembershipCluster();
    const leader = c.elect();
    c.settle(30);
    const id = naming.idOf("m2");
    expect(leader.proposeMembershipEntry({ req: 10, kind: "alarm", action: 1, memberID: id, alarm: 1 })).toBeNull();
    expect(leader.proposeMembershipEntry({ req: 11, kind: "alarm", action: 0, memberID: 0n, alarm: 0 })).toBeNull();
    expect(leader.proposeMembershipEntry({ req: 12, kind: "alarm", action: 2, memberID: id, alarm: 1 })).toBeNull();
    expect(leader.proposeMembershipEntry({ req: 13, kind: "alarm", action: 2, memberID: id, alarm: 1 })).toBeNull();
    c.settle(30);
    const byReq = (r: number) => c.membership.find((x) => x.id === r)!.alarms;
    expect(byReq(10)).toEqual([{ memberID: id, alarm: 1 }]);
    expect(byReq(11)).toEqual([{ memberID: id, alarm: 1 }]);
    expect(byReq(12)).toEqual([{ memberID: id, alarm: 1 }]);
    expect(byReq(13)).toEqual([]);
    for (const n of c.nodes.values()) expect(n.membership.alarms()).toEqual([]);
  });

  it("counts started members as etcd's strict reconfiguration check does", () => {
    const db = openMemoryDb();
    const m = new Membership(db, naming);
    m.seedFrom({ voters: ["m1"], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false });
    expect(isReadyToAddVotingMember(m.list())).toBe(true); // 1 started of 2: etcd's special case
    const unstarted = (n: string) => ({ ...newMemberRecord(naming, n, [naming.peerUrlOf(n)], false) });
    m.applyChange({ req: 1, kind: "add", member: unstarted("m2") });
    expect(isReadyToAddVotingMember(m.list())).toBe(false); // 1 started of 3
  });
});
