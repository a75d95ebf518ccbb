// EtcdNodes over node:sqlite with an in-process network and a simulated clock: the consensus
// loop the member Durable Object drives, without the platform. One round advances the clock
// by a tick, lets every member tick (optionally), process and send, then delivers the
// messages. A MsgSnap is handled as the member does: the leader ships its applied state in
// chunks, the follower stages them, then steps the MsgSnap.
import { expect } from "vitest";
import type { Message } from "../../src/raft/index.ts";
import type { ApplyResult } from "../../src/server/applier.ts";
import { EtcdNode, type EtcdNodeOptions } from "../../src/server/etcd_node.ts";
import type { MembershipResult } from "../../src/server/membership.ts";
import type { PutRequest, RangeRequest } from "../../src/server/types.ts";
import { prng } from "../../src/util/prng.ts";
import type { SqlDb } from "../../src/util/sql.ts";
import { openMemoryDb } from "../support/node-sqlite.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

export const TICK_MS = 100;
export const ELECTION_TICKS = 10;

export function put(key: string, value: string): PutRequest {
  return { key: enc.encode(key), value: enc.encode(value), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false };
}

/** Every key, serializable (read from the member's own state). */
export function rangeAll(): RangeRequest {
  return {
    key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), limit: 0, revision: 0, sortOrder: "NONE", sortTarget: "KEY",
    serializable: true, keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
  };
}

export interface NodeClusterOptions {
  /** The initial voters (default m1, m2, m3). */
  members?: string[];
  /** The simulated clock at the start (default 0). */
  startMs?: number;
  /** EtcdNode options for every member (naming, applier, snapshotEntries, …). */
  node?: Partial<Omit<EtcdNodeOptions, "id" | "db" | "rng" | "initialMembers">>;
  /** Bytes per snapshot chunk shipped to a follower (default 512). */
  chunkBytes?: number;
  /** Each ticking round every member also revokes its expired leases (the member's tick does). */
  leaseDuties?: boolean;
  /** Members tick as an idle member does (EtcdNode.tick(true)): a leader may quiesce. */
  quiesce?: boolean;
}

export class NodeCluster {
  readonly initial: string[];
  readonly dbs = new Map<string, SqlDb>();
  readonly nodes = new Map<string, EtcdNode>();
  readonly down = new Set<string>();
  /** Members cut off from the others (messages both ways are dropped). */
  readonly isolated = new Set<string>();
  inbox: Message[] = [];
  now: number;
  nextReq = 1;
  /** Request ids each member applied, in order. */
  readonly applied = new Map<string, number[]>();
  /** The result of each applied request id (the last member to apply it wins; all agree). */
  readonly results = new Map<number, ApplyResult>();
  readonly membership: MembershipResult[] = [];
  readonly snapshotsSent = new Map<string, number>();
  readonly snapshotsInstalled = new Map<string, number>();
  private readonly opts: NodeClusterOptions;

  constructor(opts: NodeClusterOptions = {}) {
    this.opts = opts;
    this.initial = opts.members ?? ["m1", "m2", "m3"];
    this.now = opts.startMs ?? 0;
    for (const id of this.initial) this.start(id);
  }

  /** Starts a member from its storage (new storage the first time). */
  start(id: string): void {
    if (!this.dbs.has(id)) this.dbs.set(id, openMemoryDb());
    this.nodes.set(
      id,
      new EtcdNode({
        electionTicks: ELECTION_TICKS,
        heartbeatTicks: 1,
        tickMs: TICK_MS,
        applier: { minLeaseTtlSeconds: 2 },
        ...this.opts.node,
        id,
        initialMembers: this.initial,
        db: this.dbs.get(id)!,
        rng: prng(`${id}/${this.now}`),
      }),
    );
  }
  crash(id: string): void {
    this.nodes.delete(id);
    this.down.add(id);
  }
  restart(id: string): void {
    this.down.delete(id);
    this.start(id);
  }

  round(tick = true): void {
    this.now += TICK_MS;
    for (const [id, n] of this.nodes) {
      if (tick) n.tick(this.opts.quiesce ?? false);
      if (tick && this.opts.leaseDuties) n.revokeExpiredLeases(this.now);
      const out = n.process(this.now);
      if (out.snapshotInstalled) this.snapshotsInstalled.set(id, (this.snapshotsInstalled.get(id) ?? 0) + 1);
      for (const a of out.applied) {
        (this.applied.get(id) ?? this.applied.set(id, []).get(id)!).push(a.id);
        this.results.set(a.id, a.result);
      }
      this.membership.push(...out.membership);
      for (const m of out.messages) {
        if (this.isolated.has(m.to) || this.isolated.has(m.from)) {
          if (m.type === "MsgSnap") n.reportSnapshot(m.to, "failure");
          continue;
        }
        if (m.type === "MsgSnap") this.transfer(n, m);
        else this.inbox.push(m);
      }
    }
    const msgs = this.inbox;
    this.inbox = [];
    for (const m of msgs) this.nodes.get(m.to)?.step(m);
  }
  rounds(n: number, tick = true): void {
    for (let i = 0; i < n; i++) this.round(tick);
  }
  /** Rounds that tick every other time: replication without elections getting in the way. */
  settle(rounds = 40): void {
    for (let i = 0; i < rounds; i++) this.round(i % 2 === 0);
  }

  /** What the member does for a MsgSnap: ship the applied state in chunks, then report. */
  private transfer(from: EtcdNode, m: Message): void {
    this.snapshotsSent.set(m.to, (this.snapshotsSent.get(m.to) ?? 0) + 1);
    const snap = from.captureSnapshot(this.opts.chunkBytes ?? 512);
    const to = this.nodes.get(m.to);
    const xfer = `${from.id}-${this.now}`;
    let ok = to !== undefined;
    for (let i = 0; ok && i < snap.chunks.length; i++) ok = to!.stageSnapshotChunk(xfer, i, snap.chunks[i]!);
    if (ok) ok = to!.receiveSnapshot(xfer, snap.chunks.length, { ...m, snapshot: { metadata: snap.metadata, data: new Uint8Array(0) } });
    from.reportSnapshot(m.to, ok ? "finish" : "failure");
  }

  /** The leader of the highest term among the members that are not cut off. */
  leader(): EtcdNode | undefined {
    const ls = [...this.nodes.values()].filter((n) => n.isLeader() && !this.isolated.has(n.id));
    return ls.sort((a, b) => b.term() - a.term())[0];
  }
  /** Ticks until there is a leader, then lets it commit its term's first entry. */
  elect(): EtcdNode {
    for (let i = 0; i < 300 && !this.leader(); i++) this.round(true);
    expect(this.leader()).toBeDefined();
    this.rounds(6);
    return this.leader()!;
  }

  /** n puts through the leader over keys prefix0..prefix6, one round each, then settles. */
  write(n: number, prefix: string): void {
    for (let i = 0; i < n; i++) {
      expect(this.leader()!.propose({ op: "put", id: this.nextReq++, request: put(`${prefix}${i % 7}`, `${prefix}-${i}`) })).toBeNull();
      this.round(false);
    }
    this.settle(6);
  }
  /** A member's keys as key=value@modRevision. */
  kv(id: string): string[] {
    return this.nodes.get(id)!.applier.range(rangeAll()).kvs.map((kv) => `${dec.decode(kv.key)}=${dec.decode(kv.value)}@${kv.modRevision}`);
  }
  hash(id: string): number {
    const a = this.nodes.get(id)!.applier;
    return a.hashKV(a.revision()).hash;
  }
}
