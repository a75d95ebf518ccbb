// The member Durable Object: a thin adapter around the pure EtcdNode. It gives the node its
// storage (this object's SQLite), its clock and ticks (the alarm), its network (Durable
// Object RPC to the other members) and its clients (the etcd service over RPC). Everything
// it holds in memory is rebuilt from storage after eviction, restart or a crash.
import { DurableObject } from "cloudflare:workers";
import { LeaseIdGenerator } from "../lease/lease_id.ts";
import type { Message } from "../raft/index.ts";
import type { ApplyResult } from "../server/applier.ts";
import { EtcdError, Errors } from "../server/errors.ts";
import { EtcdNode } from "../server/etcd_node.ts";
import type { SnapshotChunk } from "../server/snapshot_state.ts";
import type { InternalRequest } from "../server/internal_request.ts";
import type { ConcurrencyRpc } from "../server/concurrency/types.ts"; // concurrency
import { memberNaming } from "../server/membership.ts";
import { prng } from "../util/prng.ts";
import { ClusterAdmin, type ClusterRpc } from "./cluster_admin.ts";
import { memberConfig, type Env, type MemberConfig } from "./env.ts";
import { DEFAULT_MAX_REQUEST_BYTES, EtcdService } from "./etcd_service.ts";
import { fnv1a64, identityFromObjectName, objectName, type MemberIdentity } from "./identity.ts";
import { AlarmTimers } from "./alarm_timers.ts";
import { PeerOutbox } from "./peer_outbox.ts";
import type { MemberFault, MemberStatus, UnaryResult, UnaryRpc } from "./rpc.ts";
import { durableObjectDb } from "./sql.ts";
import { WatchHost } from "./watch_host.ts";
import { ConcurrencyHost } from "./concurrency_host.ts"; // concurrency: lock and election

/** etcd's minimum lease TTL: ceil(1.5 × election timeout) seconds. */
function minLeaseTtlSeconds(config: MemberConfig): number {
  return Math.ceil((1.5 * config.electionTicks * config.tickMs) / 1000);
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: EtcdError): void;
  deadlineMs: number;
}

interface PendingProposal extends Waiter<ApplyResult> {
  request: InternalRequest;
  proposed: boolean;
}

interface ReadGroup {
  waiters: Waiter<void>[];
  issuedAtTick: number;
}

/** RPCs etcd serves on the leader's lessor; other members forward them. */
const LEADER_LEASE_RPCS: ReadonlySet<UnaryRpc> = new Set(["LeaseKeepAlive", "LeaseTimeToLive"]);
/** Ticks after which an unanswered ReadIndex is asked again (the leader may have changed). */
const READ_RETRY_TICKS = 5;

export class Member extends DurableObject<Env> {
  private readonly config: MemberConfig;
  private readonly identity: MemberIdentity;
  private readonly node: EtcdNode;
  private readonly service: EtcdService;
  /** Cluster and Maintenance services, and what this member may serve at all. */
  private readonly admin: ClusterAdmin;
  private readonly outboxes = new Map<string, PeerOutbox>();
  private readonly proposals = new Map<number, PendingProposal>();
  private readonly reads = new Map<number, ReadGroup>();
  private unassignedReads: Waiter<void>[] = [];
  /** Proposals gathered since the last pump, proposed together as one raft message. */
  private toPropose: PendingProposal[] = [];
  private readSeq = 0;
  private requestSeq: number;
  private readonly requestTag: number;
  private ticks = 0;
  /** The tick timer was cancelled because raft quiesced (see resumeTicking()). */
  private ticksStopped = false;
  private lastTickMs = Date.now();
  private pumpScheduled = false;
  private pausedUntilMs = 0;
  /** Raft ticks and the watch progress interval, multiplexed over the one alarm. */
  private readonly timers: AlarmTimers<"raft-tick" | "watch-progress">;
  private sawLeader = false;
  private firstLeaderWaiters: Array<() => void> = [];
  private blocked = new Set<string>();
  /** Peers a snapshot is being shipped to (one transfer per peer at a time). */
  private readonly snapshotTransfers = new Set<string>();
  /** Snapshots from a leader installed since this instance started (reported in status). */
  private snapshotsInstalled = 0;
  /** Watch streams and sockets on this member (docs/watch.md), fed after every apply. */
  private readonly watch: WatchHost;
  /** concurrency: Lock and Election services, woken after every apply (docs/locks.md). */
  private readonly concurrencyHost: ConcurrencyHost;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = memberConfig(env);
    this.identity = identityFromObjectName(ctx.id.name ?? objectName(this.config.clusterName, this.config.initialMembers[0]!));
    // Request ids are unique across members: a per-member tag above 40 bits of sequence.
    this.requestTag = Number(fnv1a64(this.identity.memberName) % 4096n) * 2 ** 40;
    this.requestSeq = (Date.now() * 16) % 2 ** 40;
    this.timers = new AlarmTimers(durableObjectDb(ctx.storage), ctx.storage);
    this.node = new EtcdNode({
      id: this.identity.memberName,
      initialMembers: this.config.initialMembers,
      naming: memberNaming(this.identity.clusterName),
      db: durableObjectDb(ctx.storage),
      rng: prng(Math.floor(Math.random() * 2 ** 31)),
      electionTicks: this.config.electionTicks,
      heartbeatTicks: this.config.heartbeatTicks,
      tickMs: this.config.tickMs,
      applier: { minLeaseTtlSeconds: minLeaseTtlSeconds(this.config) },
      snapshotEntries: this.config.snapshotEntries,
      catchUpEntries: this.config.catchUpEntries,
      quiesceAfterTicks: this.config.quiesceAfterTicks,
    });
    this.service = new EtcdService({
      applier: this.node.applier,
      identity: this.identity,
      leaseIds: new LeaseIdGenerator(this.identity.memberId, Date.now()),
      maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
      raftTerm: () => this.node.term(),
      nowMs: () => Date.now(),
      nextRequestId: () => this.requestTag + (this.requestSeq = (this.requestSeq + 1) % 2 ** 40),
      propose: (request) => this.propose(request),
      readBarrier: () => this.readBarrier(),
      applyBacklog: () => this.node.applyBacklog(),
    });
    this.admin = new ClusterAdmin({
      node: this.node,
      identity: this.identity,
      requestTimeoutMs: this.config.requestTimeoutMs,
      tickMs: this.config.tickMs,
      nextRequestId: () => this.requestTag + (this.requestSeq = (this.requestSeq + 1) % 2 ** 40),
      schedulePump: () => this.schedulePump(),
      dbSize: () => this.dbSize(),
      callLeader: async (leader, rpc, request) =>
        (await this.env.MEMBER.getByName(objectName(this.identity.clusterName, leader)).cluster(rpc, request)) as UnaryResult,
    });
    // watch: begin
    this.watch = new WatchHost(ctx, {
      source: this.node.applier.mvcc,
      header: () => ({ clusterId: this.identity.clusterId, memberId: this.identity.memberId, raftTerm: this.node.term() }),
      keepAlive: (ID) => this.unary("LeaseKeepAlive", { ID }),
      progressIntervalMs: Number(env.ETCDO_WATCH_PROGRESS_MS) || undefined,
      scheduleProgress: (dueMs) => {
        this.timers.schedule("watch-progress", dueMs);
        void this.timers.arm();
      },
    });
    // watch: end
    // concurrency: begin
    this.concurrencyHost = new ConcurrencyHost({
      applier: this.node.applier,
      unary: (rpc, request) => this.unary(rpc, request),
      header: (revision) => this.service.header(revision),
    });
    // concurrency: end
    ctx.blockConcurrencyWhile(async () => {
      if (!this.timers.isScheduled("raft-tick")) this.timers.schedule("raft-tick", Date.now() + this.config.tickMs);
      await this.timers.arm();
    });
    // A voter starting from storage asks for votes at once (pre-vote first, so a cluster
    // with a live leader ignores it) instead of after an election timeout: after an idle
    // cluster quiesced and its objects were evicted, the first request waits for an
    // election of a few round trips, not of a second or two.
    if (this.node.applier.consistentIndex() > 0 && this.node.members().voters.includes(this.identity.memberName)) {
      this.node.campaign();
      this.schedulePump();
    }
  }

  // ---- client requests ----

  // watch: begin — /v3/watch (HTTP stream or WebSocket) and /v3/etcdo/stream, hibernatable.
  override async fetch(request: Request): Promise<Response> {
    if (this.concurrencyHost.handles(request)) return this.concurrencyHost.fetch(request); // concurrency: observe
    if (this.watch.handles(request)) return this.watch.fetch(request);
    return new Response("404 page not found\n", { status: 404 });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    await this.watch.webSocketMessage(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string, wasClean: boolean): Promise<void> {
    this.watch.webSocketClose(ws, code, reason, wasClean);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    this.watch.webSocketError(ws, error);
  }
  // watch: end

  async unary(rpc: UnaryRpc, request: unknown): Promise<UnaryResult> {
    await this.waitWhilePaused();
    // Like etcd, serve clients only once this member has known a leader since it started.
    if (!this.sawLeader && !(await this.waitForFirstLeader())) {
      return { ok: false, code: Errors.Timeout.code, message: Errors.Timeout.message };
    }
    const refused = this.admin.refusal(rpc, request);
    if (refused) return { ok: false, code: refused.code, message: refused.message };
    if (LEADER_LEASE_RPCS.has(rpc) && !this.node.isLeader()) return this.forwardToLeader(rpc, request);
    const result = await this.service.unary(rpc, request);
    return { ...result, leader: this.node.leader() || undefined };
  }

  /** etcd's Cluster and Maintenance RPCs (member list/add/…, status, hash, alarm, …). */
  /** concurrency: etcd's Lock and Election RPCs (they may wait for their turn). */
  async concurrency(rpc: ConcurrencyRpc, request: unknown): Promise<UnaryResult> {
    const result = await this.concurrencyHost.call(rpc, request);
    return { ...result, leader: this.node.leader() || undefined };
  }

  async cluster(rpc: ClusterRpc, request: unknown): Promise<UnaryResult> {
    await this.waitWhilePaused();
    // As for KV: serve only once a leader is known (a new member has no members before).
    if (!this.sawLeader && !this.admin.removed() && !(await this.waitForFirstLeader())) {
      return { ok: false, code: Errors.Timeout.code, message: Errors.Timeout.message };
    }
    return this.admin.unary(rpc, request);
  }

  /** The configuration as the front door routes by it; `removed` once this member is out. */
  clusterView(): { voters: string[]; learners: string[]; removed: boolean } {
    const conf = this.node.members();
    return { voters: [...conf.voters], learners: [...conf.learners], removed: this.admin.removed() };
  }

  /** A peer saw messages from this member after it was removed. */
  noticeRemoved(): void {
    this.admin.noticeRemoved();
  }

  private dbSize(): { size: number; inUse: number } {
    const size = this.ctx.storage.sql.databaseSize;
    try {
      const page = this.ctx.storage.sql.exec<{ n: number }>("PRAGMA page_size").one().n;
      const free = this.ctx.storage.sql.exec<{ n: number }>("PRAGMA freelist_count").one().n;
      return { size, inUse: Math.max(0, size - page * free) };
    } catch {
      return { size, inUse: size };
    }
  }

  status(): MemberStatus {
    const s = this.node.status();
    const conf = this.node.members();
    return {
      member: this.identity.memberName,
      role: s.role,
      term: s.term,
      leader: s.lead,
      commit: s.commit,
      applied: this.node.applier.consistentIndex(),
      raftIndex: this.node.storage.lastIndex(),
      revision: this.node.applier.revision(),
      voters: [...conf.voters],
      learners: [...conf.learners],
      paused: Date.now() < this.pausedUntilMs,
      blocked: [...this.blocked],
      firstIndex: this.node.storage.firstIndex(),
      snapshotIndex: this.node.storage.snapshotIndex(),
      snapshotsInstalled: this.snapshotsInstalled,
      quiesced: this.node.quiesced(),
      ticking: this.timers.isScheduled("raft-tick"),
    };
  }

  // ---- the network ----

  /** Raft messages from a peer (AppendEntries, votes, heartbeats, ... in one batch). */
  async deliver(from: string, messages: Message[]): Promise<void> {
    if (this.blocked.has(from) || Date.now() < this.pausedUntilMs || this.admin.removed()) return;
    if (this.admin.isRemovedPeer(from)) {
      // etcd's peers answer a removed member "410 Gone" and it stops; tell it, drop these.
      this.env.MEMBER.getByName(objectName(this.identity.clusterName, from)).noticeRemoved().catch(() => undefined);
      return;
    }
    for (const m of messages) this.node.step(m);
    this.schedulePump();
  }

  /**
   * Chunks of a leader's applied state (a snapshot for this member, see sendSnapshot). The
   * final call carries the MsgSnap and its chunk count: the staged rows are installed and
   * raft restored before it answers. False or a throw fails the transfer at the sender.
   */
  async installSnapshotChunk(
    from: string,
    xfer: string,
    seq: number,
    chunk: SnapshotChunk,
    final: { chunks: number; message: Message } | null,
  ): Promise<boolean> {
    if (this.blocked.has(from) || Date.now() < this.pausedUntilMs || this.admin.removed()) return false;
    if (!this.node.stageSnapshotChunk(xfer, seq, chunk)) return false;
    if (!final) return true;
    if (!this.node.receiveSnapshot(xfer, final.chunks, final.message)) return false;
    this.pump();
    return true;
  }

  /**
   * A MsgSnap leaves out of band: this member's applied state now (captured in this turn),
   * in chunks below the RPC limit, one call at a time, while the outbox keeps carrying
   * heartbeats and appends. The transfer always ends with reportSnapshot.
   */
  private sendSnapshot(m: Message): void {
    if (this.snapshotTransfers.has(m.to)) return; // the transfer in flight reports for it
    if (this.blocked.has(m.to)) {
      this.node.reportSnapshot(m.to, "failure");
      this.schedulePump();
      return;
    }
    const snap = this.node.captureSnapshot();
    const xfer = `${this.identity.memberName}/${m.term}/${snap.metadata.index}/${Date.now()}/${Math.floor(Math.random() * 2 ** 32)}`;
    const message: Message = { ...m, snapshot: { metadata: snap.metadata, data: new Uint8Array(0) } };
    const stub = this.env.MEMBER.getByName(objectName(this.identity.clusterName, m.to));
    this.snapshotTransfers.add(m.to);
    void (async () => {
      let ok = false;
      try {
        ok = true;
        for (let i = 0; ok && i < snap.chunks.length; i++) {
          const last = i === snap.chunks.length - 1;
          ok = await stub.installSnapshotChunk(this.identity.memberName, xfer, i, snap.chunks[i]!, last ? { chunks: snap.chunks.length, message } : null);
        }
      } catch {
        ok = false;
      } finally {
        this.snapshotTransfers.delete(m.to);
        this.node.reportSnapshot(m.to, ok ? "finish" : "failure");
        this.schedulePump();
      }
    })();
  }

  private send(messages: Message[]): void {
    const byPeer = new Map<string, Message[]>();
    for (const m of messages) {
      if (m.type === "MsgSnap") {
        this.sendSnapshot(m);
        continue;
      }
      if (this.blocked.has(m.to)) continue;
      (byPeer.get(m.to) ?? byPeer.set(m.to, []).get(m.to)!).push(m);
    }
    for (const [peer, batch] of byPeer) this.outbox(peer).send(batch);
  }

  private outbox(peer: string): PeerOutbox {
    let box = this.outboxes.get(peer);
    if (!box) {
      const stub = this.env.MEMBER.getByName(objectName(this.identity.clusterName, peer));
      box = new PeerOutbox(
        (batch) => stub.deliver(this.identity.memberName, batch),
        () => {
          // A stub to an object that was reset stays broken: take a fresh one next time.
          this.outboxes.delete(peer);
          this.node.reportUnreachable(peer);
        },
      );
      this.outboxes.set(peer, box);
    }
    return box;
  }

  // ---- time ----

  override async alarm(): Promise<void> {
    const nowMs = Date.now();
    const due = new Set(this.timers.takeDue(nowMs));
    if (due.has("watch-progress")) this.watch.onProgressTimer();
    // An alarm run with nothing due (delivered early, or run on demand by a test) still
    // ticks: the tick count comes from the time elapsed, so an extra run costs one tick.
    const tick = due.has("raft-tick") || due.size === 0;
    if (tick && nowMs >= this.pausedUntilMs) {
      const elapsed = Math.floor((nowMs - this.lastTickMs) / this.config.tickMs);
      const n = Math.min(Math.max(elapsed, 1), this.config.electionTicks);
      this.lastTickMs = nowMs;
      const mayQuiesce = this.waitsOnNothing();
      for (let i = 0; i < n; i++) {
        this.node.tick(mayQuiesce);
        this.ticks++;
      }
      this.node.revokeExpiredLeases(nowMs);
      this.retryAndExpire(nowMs);
      this.admin.tick(nowMs);
      this.pump();
    }
    // A removed member stops ticking: nothing will ever need it again. A quiesced one stops
    // until a request or a message wakes it (pump() starts the ticks again).
    if (this.admin.removed()) this.timers.cancel("raft-tick");
    else if (this.mayStopTicking()) {
      this.timers.cancel("raft-tick");
      this.ticksStopped = true;
    } else if (tick || !this.timers.isScheduled("raft-tick")) {
      this.timers.schedule("raft-tick", Math.max(Date.now(), this.pausedUntilMs) + this.config.tickMs);
    }
    await this.timers.arm();
  }

  /** No request, read or cluster operation of this member waits on time. */
  private waitsOnNothing(): boolean {
    return this.proposals.size === 0 && this.reads.size === 0 && this.unassignedReads.length === 0 && this.toPropose.length === 0 && this.admin.idle();
  }

  /** Raft is quiesced and nothing else needs the ticks (request timeouts, retries). */
  private mayStopTicking(): boolean {
    return this.node.quiesced() && this.waitsOnNothing();
  }

  /** Something woke the member (or gave it work): tick again if the ticks had stopped. */
  private resumeTicking(): void {
    // Cheap when ticking (every pump() calls this): only a stopped member looks further.
    if (!this.ticksStopped || this.mayStopTicking()) return;
    this.ticksStopped = false;
    // The ticks missed while stopped are not owed: count from now.
    this.lastTickMs = Date.now();
    this.timers.schedule("raft-tick", Math.max(Date.now(), this.pausedUntilMs) + this.config.tickMs);
    void this.timers.arm();
  }

  // ---- proposals and reads ----

  private propose(request: InternalRequest): Promise<ApplyResult> {
    return new Promise((resolve, reject) => {
      const p: PendingProposal = { request, proposed: false, resolve, reject, deadlineMs: Date.now() + this.config.requestTimeoutMs };
      this.proposals.set(request.id, p);
      this.toPropose.push(p);
      this.schedulePump();
    });
  }

  private readBarrier(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.unassignedReads.push({ resolve, reject, deadlineMs: Date.now() + this.config.requestTimeoutMs });
      this.schedulePump();
    });
  }

  /** Proposals dropped for want of a leader are offered again; late requests time out. */
  private retryAndExpire(nowMs: number): void {
    for (const [id, p] of this.proposals) {
      if (nowMs >= p.deadlineMs) {
        this.proposals.delete(id);
        p.reject(Errors.Timeout);
      } else if (!p.proposed) {
        p.proposed = this.node.propose(p.request) === null;
      }
    }
    for (const [ctx, group] of this.reads) {
      const live = group.waiters.filter((w) => {
        if (nowMs < w.deadlineMs) return true;
        w.reject(Errors.Timeout);
        return false;
      });
      if (live.length === 0) this.reads.delete(ctx);
      else if (this.ticks - group.issuedAtTick >= READ_RETRY_TICKS) {
        this.reads.delete(ctx);
        this.unassignedReads.push(...live);
      } else group.waiters = live;
    }
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setTimeout(() => {
      this.pumpScheduled = false;
      this.pump();
    }, 0);
  }

  /** Drains the node: sends its messages, wakes the requests it finished. */
  private pump(): void {
    if (this.toPropose.length > 0) {
      const batch = this.toPropose;
      this.toPropose = [];
      // Not those a tick already proposed (retryAndExpire): proposed twice, applied twice.
      const live = batch.filter((p) => this.proposals.has(p.request.id) && !p.proposed);
      const proposed = this.node.proposeMany(live.map((p) => p.request)) === null;
      for (const p of live) p.proposed = proposed; // dropped ones are offered again at the next tick
    }
    if (this.unassignedReads.length > 0) {
      const ctx = ++this.readSeq;
      this.reads.set(ctx, { waiters: this.unassignedReads, issuedAtTick: this.ticks });
      this.unassignedReads = [];
      this.node.readIndex(ctx);
    }
    const out = this.node.process(Date.now());
    if (out.snapshotInstalled) this.snapshotsInstalled++;
    this.watch.onApplied(); // watch: hand new revisions to the watchers
    this.concurrencyHost.onApplied(); // concurrency: wake lock waiters and election observers
    this.send(out.messages);
    this.admin.onProcessed(out);
    if (!this.sawLeader && this.node.leader()) {
      this.sawLeader = true;
      for (const wake of this.firstLeaderWaiters.splice(0)) wake();
    }
    for (const { id, result } of out.applied) {
      const p = this.proposals.get(id);
      if (p) {
        this.proposals.delete(id);
        p.resolve(result);
      }
    }
    for (const ctx of out.readsReady) {
      const group = this.reads.get(ctx);
      if (!group) continue;
      this.reads.delete(ctx);
      for (const w of group.waiters) w.resolve();
    }
    this.resumeTicking();
  }

  /** Resolves true once a leader is known, false at the request timeout. */
  private waitForFirstLeader(): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), this.config.requestTimeoutMs);
      this.firstLeaderWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
      this.schedulePump();
    });
  }

  private async forwardToLeader(rpc: UnaryRpc, request: unknown): Promise<UnaryResult> {
    const deadlineMs = Date.now() + this.config.requestTimeoutMs;
    while (!this.node.leader()) {
      if (Date.now() >= deadlineMs) return { ok: false, code: Errors.Timeout.code, message: Errors.Timeout.message };
      await new Promise((r) => setTimeout(r, this.config.tickMs));
    }
    const leader = this.env.MEMBER.getByName(objectName(this.identity.clusterName, this.node.leader()));
    return (await leader.unary(rpc, request)) as UnaryResult;
  }

  // ---- faults (local development only; the front door refuses them otherwise) ----

  async fault(f: MemberFault): Promise<void> {
    if (!this.config.faultsEnabled) throw new Error("fault injection is disabled");
    if (f.kind === "block") this.blocked = new Set(f.peers);
    else if (f.kind === "pause") this.pausedUntilMs = Date.now() + f.ms;
    else if (f.kind === "crash") {
      // Reset the object after answering: memory is lost, the next call or alarm rebuilds
      // everything from storage.
      setTimeout(() => {
        try {
          this.ctx.abort("crash injected");
        } catch {
          // abort() ends this invocation by throwing; nothing to do
        }
      }, 0);
    }
  }

  private async waitWhilePaused(): Promise<void> {
    const waitMs = this.pausedUntilMs - Date.now();
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
  }
}
