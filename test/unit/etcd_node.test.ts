// Three EtcdNodes over node:sqlite with an in-process network (node_cluster.ts): the consensus
// loop the member Durable Object drives, checked without the platform.
import { describe, expect, it } from "vitest";
import { NodeCluster, put, rangeAll } from "./node_cluster.ts";

const ids = ["m1", "m2", "m3"];

describe("EtcdNode", () => {
  it("elects a leader, replicates a follower's proposal and applies it everywhere", () => {
    const c = new NodeCluster();
    for (let i = 0; i < 100 && !c.leader(); i++) c.round(true);
    const leader = c.leader()!;
    expect(leader).toBeDefined();
    c.settle(10);
    const follower = [...c.nodes.values()].find((n) => n !== leader)!;
    expect(follower.propose({ op: "put", id: 7, request: put("k", "v") })).toBeNull();
    c.settle(10);
    for (const id of ids) {
      expect(c.applied.get(id)).toContain(7);
      const r = c.nodes.get(id)!.applier.range(rangeAll());
      expect(r.count).toBe(1);
      expect(r.header?.revision).toBe(2);
    }
  });

  it("loses no committed write when every member crashes and restarts from storage", () => {
    const c = new NodeCluster();
    for (let i = 0; i < 100 && !c.leader(); i++) c.round(true);
    c.settle(10);
    for (let i = 0; i < 20; i++) c.leader()!.propose({ op: "put", id: 100 + i, request: put(`k${i}`, "v") });
    c.settle(10);
    for (const id of ids) c.crash(id);
    for (const id of ids) c.restart(id);
    for (let i = 0; i < 200 && !c.leader(); i++) c.round(true);
    c.settle(10);
    c.leader()!.propose({ op: "put", id: 999, request: put("after", "restart") });
    c.settle(10);
    for (const id of ids) {
      const r = c.nodes.get(id)!.applier.range(rangeAll());
      expect(r.count).toBe(21);
      expect(r.header?.revision).toBe(22);
      // replay after restart applied nothing twice: only the new write came back
      expect(c.applied.get(id)!.filter((x) => x === 999)).toEqual([999]);
    }
  });

  it("serves ReadIndex reads only after the applied index reaches the read point", () => {
    const c = new NodeCluster();
    for (let i = 0; i < 100 && !c.leader(); i++) c.round(true);
    c.settle(10);
    const follower = [...c.nodes.values()].find((n) => !n.isLeader())!;
    follower.readIndex(43);
    const first = follower.process(c.now);
    expect(first.readsReady).toEqual([]); // needs the leader's heartbeat round first
    c.inbox.push(...first.messages);
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      c.now += 100;
      const out = follower.process(c.now);
      seen.push(...out.readsReady);
      c.inbox.push(...out.messages);
      const msgs = c.inbox;
      c.inbox = [];
      for (const m of msgs) {
        const n = c.nodes.get(m.to)!;
        n.step(m);
        const o = n.process(c.now);
        if (n === follower) seen.push(...o.readsReady);
        c.inbox.push(...o.messages);
      }
    }
    expect(seen).toContain(43);
  });

  it("quiesces an idle cluster; a write through a follower wakes everyone; a lease keeps the leader ticking", () => {
    const c = new NodeCluster({ quiesce: true });
    const leader = c.elect();
    const quiet = () => ids.every((id) => c.nodes.get(id)!.quiesced());
    for (let i = 0; i < 100 && !quiet(); i++) c.round(true);
    expect(quiet()).toBe(true);
    c.rounds(50);
    expect(c.inbox).toEqual([]);
    const follower = [...c.nodes.values()].find((n) => n !== leader)!;
    expect(follower.propose({ op: "put", id: c.nextReq++, request: put("k", "v") })).toBeNull();
    c.settle(10);
    expect(ids.map((id) => [c.kv(id).length, c.nodes.get(id)!.quiesced()])).toEqual(ids.map(() => [1, false]));

    expect(leader.propose({ op: "leaseGrant", id: c.nextReq++, request: { ID: 7n, TTL: 60 } })).toBeNull();
    c.rounds(100);
    expect(leader.quiesced()).toBe(false);
  });

  it("elects a new leader when the quiesced one is gone and a client asks a follower", () => {
    const c = new NodeCluster({ quiesce: true });
    const old = c.elect();
    for (let i = 0; i < 100 && !old.quiesced(); i++) c.round(true);
    expect(old.quiesced()).toBe(true);
    c.settle(2);
    c.crash(old.id);
    const follower = [...c.nodes.values()][0]!;
    follower.propose({ op: "put", id: c.nextReq++, request: put("after", "crash") }); // dropped, but wakes it
    for (let i = 0; i < 200 && !c.leader(); i++) c.round(true);
    const next = c.leader()!;
    expect(next.id).not.toBe(old.id);
    expect(next.propose({ op: "put", id: c.nextReq++, request: put("after", "crash") })).toBeNull();
    c.settle(6);
    for (const n of c.nodes.values()) expect(c.kv(n.id)).toContainEqual(expect.stringMatching(/^after=crash@/));
  });
});
