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
});
