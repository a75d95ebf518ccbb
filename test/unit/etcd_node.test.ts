// Three EtcdNodes over node:sqlite with an in-process network: the consensus loop the member
// Durable Object drives, checked without the platform.
import { describe, expect, it } from "vitest";
import type { Message } from "../../src/raft/index.ts";
import { EtcdNode } from "../../src/server/etcd_node.ts";
import type { PutRequest, RangeRequest } from "../../src/server/types.ts";
import { prng } from "../../src/util/prng.ts";
import type { SqlDb } from "../../src/util/sql.ts";
import { openMemoryDb } from "../support/node-sqlite.ts";

const enc = new TextEncoder();
const ids = ["m1", "m2", "m3"];

function put(key: string, value: string): PutRequest {
  return { key: enc.encode(key), value: enc.encode(value), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false };
}
function rangeAll(): RangeRequest {
  return {
    key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), limit: 0, revision: 0, sortOrder: "NONE", sortTarget: "KEY",
    serializable: true, keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
  };
}

class Cluster {
  dbs = new Map<string, SqlDb>();
  nodes = new Map<string, EtcdNode>();
  down = new Set<string>();
  inbox: Message[] = [];
  applied = new Map<string, number[]>();
  now = 0;

  constructor() {
    for (const id of ids) {
      this.dbs.set(id, openMemoryDb());
      this.start(id);
    }
  }
  start(id: string) {
    this.nodes.set(id, new EtcdNode({
      id, initialMembers: ids, db: this.dbs.get(id)!, rng: prng(`${id}/${this.now}`),
      electionTicks: 10, heartbeatTicks: 1, tickMs: 100, applier: { minLeaseTtlSeconds: 2 },
    }));
  }
  crash(id: string) {
    this.nodes.delete(id);
    this.down.add(id);
  }
  restart(id: string) {
    this.down.delete(id);
    this.start(id);
  }
  round(tick: boolean) {
    this.now += 100;
    for (const [id, n] of this.nodes) {
      if (tick) n.tick();
      const out = n.process(this.now);
      this.inbox.push(...out.messages);
      for (const a of out.applied) (this.applied.get(id) ?? this.applied.set(id, []).get(id)!).push(a.id);
    }
    const msgs = this.inbox;
    this.inbox = [];
    for (const m of msgs) this.nodes.get(m.to)?.step(m);
  }
  leader(): EtcdNode | undefined {
    return [...this.nodes.values()].find((n) => n.isLeader());
  }
  settle(rounds = 50) {
    for (let i = 0; i < rounds; i++) this.round(i % 2 === 0);
  }
}

describe("EtcdNode", () => {
  it("elects a leader, replicates a follower's proposal and applies it everywhere", () => {
    const c = new Cluster();
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
    const c = new Cluster();
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
    const c = new Cluster();
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
