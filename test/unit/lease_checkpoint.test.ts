// Lease expiry on a raft cluster, pure: three EtcdNodes over node:sqlite with an in-process
// network and a simulated clock. Checks that remaining TTLs survive a leader change through
// checkpoints, that a renewal clears a recorded TTL, and that only the leadership that ran
// a lease's clock can revoke it.
import { describe, expect, it } from "vitest";
import type { Message } from "../../src/raft/index.ts";
import { STALE_EXPIRY, leaseRevokeRequest } from "../../src/server/applier.ts";
import type { EtcdNode } from "../../src/server/etcd_node.ts";
import { Lessor } from "../../src/lease/lessor.ts";
import { openMemoryDb } from "../support/node-sqlite.ts";
import { ELECTION_TICKS, NodeCluster, TICK_MS } from "./node_cluster.ts";

const ids = ["m1", "m2", "m3"];

/** Every member ticks each round and revokes the leases its clock says expired. */
class LeaseCluster extends NodeCluster {
  constructor(checkpointMs: number) {
    super({ startMs: 1_000_000, leaseDuties: true, node: { applier: { minLeaseTtlSeconds: 2, leaseCheckpointIntervalMs: checkpointMs } } });
  }
  grant(ttl: number): bigint {
    const id = BigInt(this.nodes.size * 1000 + Math.floor(this.now / TICK_MS));
    this.leader()!.propose({ op: "leaseGrant", id: 1, request: { ID: id, TTL: ttl } });
    this.rounds(3);
    return id;
  }
  exists(id: bigint, member?: string): boolean {
    const nodes = member ? [this.nodes.get(member)!] : [...this.nodes.values()];
    return nodes.every((n) => n.applier.lessor.exists(id));
  }
}

describe("lease checkpoints", () => {
  it("a new leader continues a lease from its checkpointed remaining TTL, not the full TTL", () => {
    const c = new LeaseCluster(1000);
    c.elect();
    const lease = c.grant(10);
    const grantedAt = c.now;
    c.rounds(45); // 4.5 s: checkpoints at 1 s intervals recorded the remaining TTL
    for (const n of c.nodes.values()) {
      const rec = n.applier.lessor.lookup(lease)!.remainingTtlSeconds;
      expect(rec).toBeGreaterThanOrEqual(6);
      expect(rec).toBeLessThanOrEqual(8);
    }
    const old = c.leader()!;
    c.crash(old.id);
    const next = c.elect();
    expect(next.id).not.toBe(old.id);
    const ttl = next.applier.leaseTimeToLive({ ID: lease, keys: false }, c.now).TTL;
    // Full TTL would be 10 + E; the checkpoint keeps it at most C + E + 1 s late.
    expect(ttl).toBeLessThan(10);
    const trueExpiry = grantedAt + 10_000;
    for (let i = 0; i < 200 && c.exists(lease); i++) c.round();
    expect(c.exists(lease)).toBe(false);
    const lateMs = c.now - trueExpiry;
    expect(lateMs).toBeGreaterThanOrEqual(0);
    expect(lateMs).toBeLessThanOrEqual(1000 + ELECTION_TICKS * TICK_MS + 1000 + 3000); // C + E + 1 s + failover
  });

  it("a renewal after a checkpoint is answered only with a clear of the recorded TTL", () => {
    const c = new LeaseCluster(1000);
    const leader = c.elect();
    const lease = c.grant(10);
    c.rounds(25);
    expect(leader.applier.lessor.lookup(lease)!.remainingTtlSeconds).toBeGreaterThan(0);
    const r = leader.applier.leaseRenew(lease, c.now);
    expect(r).toMatchObject({ kind: "ok", ttlSeconds: 10, clearCheckpoint: true });
  });

  it("a checkpoint proposed but not applied yet also makes a renewal clear it", () => {
    const db = openMemoryDb();
    const lessor = new Lessor(db, { keysWithLease: () => [] }, { minTtlSeconds: 2, checkpointIntervalMs: 1000 });
    lessor.grant(5n, 30, 0);
    lessor.promote(0, 0);
    const due = lessor.checkpointsDue(1500);
    expect(due).toEqual([{ ID: 5n, remainingTtlSeconds: 29 }]);
    expect(lessor.renew(5n, 1600)).toMatchObject({ kind: "ok", clearCheckpoint: true });
    lessor.checkpoint(5n, 0);
    expect(lessor.renew(5n, 1700)).toMatchObject({ kind: "ok", clearCheckpoint: false });
    // Short leases (not more than one interval left) are never checkpointed.
    lessor.grant(6n, 2, 1700);
    expect(lessor.checkpointsDue(3000).map((x) => x.ID)).toEqual([5n]);
  });
});

describe("lease revoke safety", () => {
  it("drops an expiry revoke whose entry was appended in another term than the one that decided it", () => {
    const c = new LeaseCluster(0);
    const leader = c.elect();
    const lease = c.grant(30);
    const term = leader.term();
    // As if a deposed leader's decision reached the log through the new leader.
    leader.propose({ ...leaseRevokeRequest(-900, lease, term - 1) });
    c.rounds(3);
    expect(c.results.get(-900)).toMatchObject({ error: STALE_EXPIRY });
    expect(c.exists(lease)).toBe(true);
    leader.propose(leaseRevokeRequest(-901, lease, term));
    c.rounds(3);
    expect(c.exists(lease)).toBe(false);
  });

  it("a partitioned old leader's revoke never applies while the majority keeps the lease alive", () => {
    const c = new LeaseCluster(0);
    const old = c.elect();
    const lease = c.grant(2);
    // Cut the leader off; it still believes it leads until it ticks (no ticks here).
    c.isolated.add(old.id);
    const others = [...c.nodes.values()].filter((n) => n !== old);
    // The old leader's clock says the lease expired: it proposes a revoke that cannot commit.
    expect(old.revokeExpiredLeases(c.now + 60_000)).toBe(1);
    old.process(c.now);
    // The majority elects a leader and keeps the lease alive there.
    let next: EtcdNode | undefined;
    for (let i = 0; i < 300; i++) {
      c.now += TICK_MS;
      const inbox: Message[] = [];
      for (const n of others) {
        n.tick();
        n.revokeExpiredLeases(c.now);
        const out = n.process(c.now);
        inbox.push(...out.messages.filter((m) => m.to !== old.id));
        if (n.isLeader()) n.applier.leaseRenew(lease, c.now);
      }
      for (const m of inbox) c.nodes.get(m.to)?.step(m);
      next = others.find((n) => n.isLeader());
      if (next && i > 60) break;
    }
    expect(next).toBeDefined();
    // Heal: the old leader's uncommitted revoke is overwritten by the new leader's log.
    c.isolated.delete(old.id);
    for (let i = 0; i < 30; i++) {
      c.round();
      c.leader()?.applier.leaseRenew(lease, c.now);
    }
    expect(old.isLeader()).toBe(false);
    for (const id of ids) expect(c.exists(lease, id)).toBe(true);
  });
});
