// One etcd member's consensus loop, pure and synchronous: the raft core, its SQLite log and
// the apply layer, driven by tick/step/propose/readIndex and drained by process(). The
// platform adapter (the member Durable Object, or a simulator) sends the returned messages,
// wakes the requests whose results came back, and supplies time.
//
// process() keeps raft's Ready contract: each Ready's entries and hard state are written in
// one transaction before its messages are returned (so nothing is sent that storage does not
// vouch for), then committed entries are applied in one transaction together with the
// consistent index and any configuration change, then read states are released once the
// applied index reaches them.
import {
  RawNode,
  confChangeOf,
  encodeConfChange,
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type RaftError,
  type SnapshotMetadata,
  type SnapshotStatus,
  type Status,
} from "../raft/index.ts";
import type { Prng } from "../util/prng.ts";
import type { SqlDb } from "../util/sql.ts";
import { Applier, leaseRevokeRequest, type ApplierOptions, type ApplyResult, type RaftEntry } from "./applier.ts";
import { encodeInternalRequest, type InternalRequest } from "./internal_request.ts";
import {
  Membership,
  confChangeFor,
  decodeConfChangeContext,
  decodeMembershipEntry,
  encodeConfChangeContext,
  encodeMembershipEntry,
  initialMemberContext,
  isMembershipEntry,
  memberNaming,
  type ConfChangeContext,
  type MemberNaming,
  type MembershipEntry,
  type MembershipResult,
} from "./membership.ts";
import { SqliteRaftStorage } from "./raft_storage.ts";
import { SnapshotStage, captureState, type SnapshotChunk } from "./snapshot_state.ts";
import { proposeLeaseCheckpoints } from "./lease_checkpoint.ts";

export interface EtcdNodeOptions {
  id: NodeId;
  /**
   * The initial voters, used only when this member's storage is empty and it is one of them
   * (bootstrap). Any other member starts empty and learns the configuration from the leader.
   */
  initialMembers: NodeId[];
  /** How members are named and addressed (default: cluster "default"). */
  naming?: MemberNaming;
  db: SqlDb;
  rng: Prng | (() => number);
  electionTicks: number;
  heartbeatTicks: number;
  /** Milliseconds per tick, to turn the election timeout into the lessor's extension. */
  tickMs: number;
  applier: ApplierOptions;
  /**
   * Log compaction, as etcd's --snapshot-count and --experimental-snapshot-catchup-entries:
   * once the applied index is more than snapshotEntries past the last snapshot point, a new
   * point is recorded there and the log is dropped up to applied - catchUpEntries. A
   * follower behind the first index left is caught up by snapshot. Defaults 10,000 / 5,000;
   * snapshotEntries 0 disables compaction.
   */
  snapshotEntries?: number;
  catchUpEntries?: number;
  /**
   * Ticks a leader with nothing to do waits before it quiesces the cluster (every member
   * stops ticking until a request or message wakes it; Raft.quiesced). Default: two
   * election timeouts; 0 never quiesces. A leader holding leases never quiesces: their
   * expiry runs on its clock.
   */
  quiesceAfterTicks?: number;
}

export const DEFAULT_SNAPSHOT_ENTRIES = 10_000;
export const DEFAULT_CATCH_UP_ENTRIES = 5_000;

/** A member's applied state as shipped to a far-behind peer: raft metadata and the rows. */
export interface AppliedSnapshot {
  metadata: SnapshotMetadata;
  chunks: SnapshotChunk[];
}

export interface AppliedRequest {
  id: number;
  result: ApplyResult;
}

export interface ProcessOutput {
  messages: Message[];
  /** Results of requests applied in this round (from any proposer; match by id). */
  applied: AppliedRequest[];
  /** Read-index contexts whose reads may now be served (applied index reached). */
  readsReady: number[];
  /** Set when the known leader changed in this round. */
  leaderChanged: boolean;
  /** Results of membership changes, attribute and alarm entries applied in this round. */
  membership: MembershipResult[];
  /** Set when a snapshot from the leader replaced the applied state in this round. */
  snapshotInstalled: boolean;
}

const READ_CTX_BYTES = 8;

function encodeReadCtx(id: number): Uint8Array {
  const b = new Uint8Array(READ_CTX_BYTES);
  new DataView(b.buffer).setFloat64(0, id);
  return b;
}

function decodeReadCtx(b: Uint8Array): number {
  return b.length === READ_CTX_BYTES ? new DataView(b.buffer, b.byteOffset, 8).getFloat64(0) : -1;
}

export class EtcdNode {
  readonly id: NodeId;
  readonly applier: Applier;
  readonly storage: SqliteRaftStorage;
  readonly membership: Membership;
  private readonly node: RawNode;
  private readonly db: SqlDb;
  private readonly electionTimeoutMs: number;
  private confState: ConfState;
  /** Read contexts waiting for the applied index to reach their read index. */
  private readonly pendingReads: Array<{ ctx: number; index: number }> = [];
  private lessorPromoted = false;
  private nextOwnRequest = 1;
  private readonly snapshotEntries: number;
  private readonly catchUpEntries: number;
  private readonly stage: SnapshotStage;
  /** The staged transfer whose MsgSnap was just stepped, waiting for raft's Ready. */
  private pendingInstall: { xfer: string; index: number } | null = null;
  private readonly quiesceAfterTicks: number;
  /** Consecutive ticks this leader could have quiesced. */
  private idleTicks = 0;

  constructor(opts: EtcdNodeOptions) {
    this.id = opts.id;
    this.db = opts.db;
    this.storage = new SqliteRaftStorage(opts.db);
    this.applier = new Applier(opts.db, opts.applier);
    this.electionTimeoutMs = opts.electionTicks * opts.tickMs;
    this.quiesceAfterTicks = opts.quiesceAfterTicks ?? 2 * opts.electionTicks;
    this.membership = new Membership(opts.db, opts.naming ?? memberNaming("default"));
    this.stage = new SnapshotStage(opts.db);
    this.snapshotEntries = opts.snapshotEntries ?? DEFAULT_SNAPSHOT_ENTRIES;
    this.catchUpEntries = opts.catchUpEntries ?? DEFAULT_CATCH_UP_ENTRIES;
    if (this.storage.isEmpty() && opts.initialMembers.includes(opts.id)) {
      // Bootstrap like etcd's --initial-cluster: every initial member starts with the same
      // committed log, one AddNode entry per initial member carrying its record, so they
      // agree without exchanging anything, and a member added later replays the same log.
      const naming = this.membership.naming;
      const entries: Entry[] = opts.initialMembers.map((node, i) => ({
        term: 1,
        index: i + 1,
        type: "ConfChange",
        data: encodeConfChange(confChangeFor(initialMemberContext(naming, node))),
      }));
      opts.db.transaction(() => {
        this.storage.append(entries);
        this.storage.setHardState({ term: 1, vote: "", commit: entries.length });
      });
    }
    this.confState = this.storage.initialState().confState;
    // A cluster bootstrapped before members were replicated: derive them once.
    if (this.confState.voters.length > 0) opts.db.transaction(() => this.membership.seedFrom(this.confState));
    const applied = Math.max(this.applier.consistentIndex(), this.storage.firstIndex() - 1);
    this.node = new RawNode(
      {
        id: opts.id,
        rng: opts.rng,
        electionTicks: opts.electionTicks,
        heartbeatTicks: opts.heartbeatTicks,
        applied,
        preVote: true,
        checkQuorum: true,
      },
      this.storage,
    );
  }

  // ---- inputs ----

  /**
   * One tick. mayQuiesce: the caller has nothing waiting on time (no request, read or
   * operation in flight); a leader that stays idle for quiesceAfterTicks such ticks quiesces.
   */
  tick(mayQuiesce = false): void {
    this.node.tick();
    const idle =
      mayQuiesce &&
      this.quiesceAfterTicks > 0 &&
      this.pendingReads.length === 0 &&
      this.pendingInstall === null &&
      this.node.raft.canQuiesce() &&
      this.applier.lessor.count() === 0;
    if (!idle) {
      this.idleTicks = 0;
      return;
    }
    if (++this.idleTicks < this.quiesceAfterTicks) return;
    this.idleTicks = 0;
    this.node.quiesce();
  }

  /** Ticks do nothing until a request or a message wakes this member (see tick()). */
  quiesced(): boolean {
    return this.node.quiesced();
  }

  step(m: Message): RaftError | null {
    // A snapshot comes only through receiveSnapshot(), after its state was staged: raft
    // restoring from a bare MsgSnap would leave the state machine behind the log.
    if (m.type === "MsgSnap") return null;
    return this.node.step(m);
  }

  /** Proposes a request; a follower forwards it to the leader. Null, or why it was dropped. */
  propose(request: InternalRequest): RaftError | null {
    return this.node.propose(encodeInternalRequest(request));
  }

  /** Proposes several requests as one raft message (they share a MsgApp per follower). */
  proposeMany(requests: readonly InternalRequest[]): RaftError | null {
    return this.node.proposeMany(requests.map(encodeInternalRequest));
  }

  proposeConfChange(cc: ConfChange): RaftError | null {
    return this.node.proposeConfChange(cc);
  }

  /** Proposes a membership change (add/remove/promote/update), validated when applied. */
  proposeMemberChange(c: ConfChangeContext): RaftError | null {
    return this.node.proposeConfChange(confChangeFor(c));
  }

  /** Proposes a member's attributes or an alarm request (applied by the membership store). */
  proposeMembershipEntry(e: MembershipEntry): RaftError | null {
    return this.node.propose(encodeMembershipEntry(e));
  }

  /** Asks for a linearizable read point; ctx comes back in readsReady. */
  readIndex(ctx: number): void {
    this.node.readIndex(encodeReadCtx(ctx));
  }

  transferLeader(to: NodeId): void {
    this.node.transferLeader(to);
  }

  campaign(): void {
    this.node.campaign();
  }

  reportUnreachable(to: NodeId): void {
    this.node.reportUnreachable(to);
  }

  /** How the transfer that a MsgSnap to `to` asked for ended (always report one). */
  reportSnapshot(to: NodeId, status: SnapshotStatus): void {
    this.node.reportSnapshot(to, status);
  }

  // ---- snapshots ----

  /**
   * This member's applied state now, to ship instead of a MsgSnap's snapshot (etcd does the
   * same): the applied index and its term, the configuration in force, and every state row,
   * read in this one synchronous call.
   */
  captureSnapshot(maxChunkBytes?: number): AppliedSnapshot {
    const metadata: SnapshotMetadata = {
      index: this.applier.consistentIndex(),
      term: this.applier.appliedTerm(),
      confState: structuredClone(this.confState),
    };
    return { metadata, chunks: captureState(this.db, maxChunkBytes) };
  }

  /** Stages one chunk of transfer xfer (false: out of order or from another transfer). */
  stageSnapshotChunk(xfer: string, seq: number, chunk: SnapshotChunk): boolean {
    return this.stage.stage(xfer, seq, chunk);
  }

  /**
   * All `chunks` chunks of xfer are staged: steps the MsgSnap (carrying the shipped
   * metadata). If raft restores from it, the next process() installs the staged rows in the
   * same transaction as the raft storage's snapshot; if raft ignores it (it already has
   * that much), the staging is dropped. False if the transfer is incomplete.
   */
  receiveSnapshot(xfer: string, chunks: number, m: Message): boolean {
    if (m.type !== "MsgSnap" || !m.snapshot || !this.stage.complete(xfer, chunks)) return false;
    this.pendingInstall = { xfer, index: m.snapshot.metadata.index };
    this.node.step(m);
    return true;
  }

  // ---- state ----

  status(): Status {
    return this.node.status();
  }

  isLeader(): boolean {
    return this.node.raft.state === "Leader";
  }

  leader(): NodeId {
    return this.node.raft.lead;
  }

  term(): number {
    return this.node.raft.term;
  }

  /** Committed entries not yet applied here (etcd refuses proposals past 5,000). */
  applyBacklog(): number {
    return this.node.raft.raftLog.committed - this.applier.consistentIndex();
  }

  members(): ConfState {
    return this.confState;
  }

  /** Requests this member proposes itself (lease revokes) get ids from its own range. */
  ownRequestId(): number {
    return -this.nextOwnRequest++;
  }

  /**
   * Leader only: proposes revokes for expired leases (and, every checkpoint interval, the
   * remaining TTLs of long leases). Returns how many revokes were proposed.
   */
  revokeExpiredLeases(nowMs: number): number {
    if (!this.isLeader() || !this.lessorPromoted) return 0;
    let n = 0;
    // lease: begin — revokes carry this leadership's term; apply drops them in any other term.
    const term = this.term();
    for (const leaseId of this.applier.expiredLeases(nowMs)) {
      if (this.propose(leaseRevokeRequest(this.ownRequestId(), leaseId, term)) === null) n++;
    }
    proposeLeaseCheckpoints(this, this.applier.leaseCheckpointsDue(nowMs));
    // lease: end
    return n;
  }

  // ---- the Ready loop ----

  process(nowMs: number): ProcessOutput {
    const out: ProcessOutput = { messages: [], applied: [], readsReady: [], leaderChanged: false, membership: [], snapshotInstalled: false };
    // One transaction for the whole round: every Ready's log writes and applies commit
    // together (one durable write), still before any of its messages leave this call.
    this.db.transaction(() => {
      this.drainReadies(nowMs, out);
      if (this.pendingInstall) {
        // Raft did not restore from the stepped snapshot: nothing to install.
        this.pendingInstall = null;
        this.stage.clear();
      }
      this.maybeCompact();
    });
    this.releaseReads(out);
    this.maybePromoteLessor(nowMs);
    return out;
  }
  private drainReadies(nowMs: number, out: ProcessOutput): void {
    while (this.node.hasReady()) {
      const rd = this.node.ready();
      if (rd.softState) {
        out.leaderChanged = true;
        if (rd.softState.role !== "Leader" && this.lessorPromoted) {
          this.applier.demote();
          this.lessorPromoted = false;
        }
      }
      if (rd.entries.length > 0 || rd.hardState || rd.snapshot) {
        this.db.transaction(() => {
          if (rd.snapshot) this.installSnapshot(rd.snapshot.metadata, out);
          this.storage.append(rd.entries);
          if (rd.hardState) this.storage.setHardState(rd.hardState);
        });
      }
      for (const m of rd.messages) out.messages.push(m);
      if (rd.committedEntries.length > 0) this.applyCommitted(rd.committedEntries, nowMs, out);
      for (const rs of rd.readStates) this.pendingReads.push({ ctx: decodeReadCtx(rs.requestCtx), index: rs.index });
      this.node.advance(rd);
    }
  }


  /** Replaces the applied state with the staged transfer raft just restored from. */
  private installSnapshot(meta: SnapshotMetadata, out: ProcessOutput): void {
    const p = this.pendingInstall;
    if (!p || p.index !== meta.index) throw new Error(`etcd node: snapshot ${meta.index} from raft without its staged state`);
    this.pendingInstall = null;
    this.stage.install(p.xfer);
    this.storage.installSnapshot(meta);
    this.confState = structuredClone(meta.confState);
    this.applier.reload();
    this.membership.invalidate();
    this.lessorPromoted = false;
    if (this.applier.consistentIndex() !== meta.index) {
      throw new Error(`etcd node: snapshot state is at index ${this.applier.consistentIndex()}, not ${meta.index}`);
    }
    out.snapshotInstalled = true;
  }

  /** etcd's snapshot trigger: CreateSnapshot at applied, Compact(applied - catch-up). */
  private maybeCompact(): void {
    if (this.snapshotEntries <= 0) return;
    const applied = this.applier.consistentIndex();
    if (applied - this.storage.snapshotIndex() <= this.snapshotEntries) return;
    if (applied > this.storage.lastIndex() || applied < this.storage.firstIndex() - 1) return;
    this.storage.createSnapshot(applied, this.confState);
    const compactTo = applied - this.catchUpEntries;
    if (compactTo >= this.storage.firstIndex()) this.storage.compact(compactTo);
  }

  private applyCommitted(entries: readonly Entry[], nowMs: number, out: ProcessOutput): void {
    const forApplier: RaftEntry[] = [];
    // Conf changes and membership entries, in log order (the KV applier never reads them).
    const membershipOps: Array<{ cc: ConfChange } | { entry: MembershipEntry }> = [];
    for (const e of entries) {
      if (e.type === "ConfChange") {
        membershipOps.push({ cc: confChangeOf(e) });
        forApplier.push({ index: e.index, term: e.term, data: new Uint8Array(0) });
      } else if (isMembershipEntry(e.data)) {
        if (e.index > this.applier.consistentIndex()) membershipOps.push({ entry: decodeMembershipEntry(e.data) });
        forApplier.push({ index: e.index, term: e.term, data: new Uint8Array(0) });
      } else {
        forApplier.push({ index: e.index, term: e.term, data: e.data });
      }
    }
    this.db.transaction(() => {
      const results = this.applier.applyBatch(forApplier, nowMs);
      for (const r of results) if (r) out.applied.push({ id: r.id, result: r });
      for (const op of membershipOps) {
        if ("entry" in op) {
          out.membership.push(this.membership.applyEntry(op.entry));
          continue;
        }
        let cc = op.cc;
        const ctx = decodeConfChangeContext(cc.context);
        const error = ctx ? this.membership.validate(ctx) : null;
        // A refused change is applied blanked, as etcd does, so raft stays in step.
        if (error) cc = { ...cc, changes: cc.changes.map((c) => ({ ...c, nodeId: "" })), context: encodeConfChangeContext(ctx!) };
        this.confState = this.node.applyConfChange(cc);
        this.storage.setConfState(this.confState);
        if (ctx && !error) this.membership.applyChange(ctx);
        if (ctx && ctx.req !== 0) out.membership.push(error ? { id: ctx.req, error } : { id: ctx.req, members: this.membership.list() });
      }
    });
  }

  private releaseReads(out: ProcessOutput): void {
    const applied = this.applier.consistentIndex();
    for (let i = 0; i < this.pendingReads.length; ) {
      const r = this.pendingReads[i]!;
      if (r.index <= applied) {
        out.readsReady.push(r.ctx);
        this.pendingReads.splice(i, 1);
      } else i++;
    }
  }

  /** etcd promotes the lessor once the new leader has applied everything of earlier terms. */
  private maybePromoteLessor(nowMs: number): void {
    if (this.lessorPromoted || !this.isLeader()) return;
    if (this.applier.appliedTerm() !== this.term()) return;
    this.applier.promote(nowMs, this.electionTimeoutMs);
    this.lessorPromoted = true;
  }
}
