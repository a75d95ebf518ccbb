// RawNode: the application's handle on the raft core. Single-threaded, synchronous, no I/O:
// exactly what a Durable Object needs (its input gate serialises calls).
//
// The loop a member runs (see Ready for the ordering rules):
//
//   node.tick();                    // from the alarm, every tick interval
//   node.step(msg);                 // for each message from a peer
//   node.propose(data);             // for each client write
//   while (node.hasReady()) {
//     const rd = node.ready();
//     persist(rd.hardState, rd.entries, rd.snapshot);   // one transaction, durable
//     send(rd.messages);
//     apply(rd.snapshot, rd.committedEntries);          // in order; conf changes through
//                                                       // node.applyConfChange(cc)
//     serveReads(rd.readStates);
//     node.advance(rd);
//   }

import { decodeConfChange, encodeConfChange } from "./confchange.ts";
import { ErrStepLocalMsg, ErrStepPeerNotFound, assert, type RaftError } from "./errors.ts";
import { Raft, type AdvanceStep, type Config } from "./raft.ts";
import type { Storage } from "./storage.ts";
import {
  entriesSizeBytes,
  hardStateEqual,
  isLocalMessage,
  isResponseMessage,
  newMessage,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ReadState,
  type Snapshot,
  type StateRole,
} from "./types.ts";
import type { ProgressState } from "./progress.ts";

/** Volatile state, reported in a Ready when it changes. Not persisted. */
export interface SoftState {
  lead: NodeId;
  role: StateRole;
}

/**
 * Ready is one batch of work for the application. All fields are read-only. Handle a Ready
 * completely, in this order, then call advance(rd):
 *
 * 1. Persist, atomically and durably: `entries` appended to the log (replacing any existing
 *    entries from entries[0].index on), `hardState` if non-null, and `snapshot` if non-null
 *    (which replaces the log up to its index). A crash may lose the whole Ready but must not
 *    lose part of it: a vote, an acknowledged entry or a commit index that a message below
 *    vouches for must survive a restart.
 * 2. Only then send `messages`, in any order, best effort (dropping is allowed, the core
 *    retries). A message that cannot be delivered may be reported with reportUnreachable().
 *    A MsgSnap is different: its transfer (in chunks, out of band) must end with
 *    reportSnapshot(to, "finish" | "failure"), or the leader waits for it for ever. The
 *    member may ship its current applied state (index, term, ConfState, data) instead of the
 *    snapshot in the message, as etcd does: it is at least as new and, since configuration
 *    changes take effect on apply, it includes the recipient.
 * 3. Apply: if `snapshot` is non-null, first replace the state machine with it; then apply
 *    `committedEntries` in index order, each exactly once. A "ConfChange" entry must be
 *    passed to applyConfChange() as it is applied (and the returned ConfState kept with the
 *    applied state); an empty "Normal" entry is a leader's no-op. Committed entries may also
 *    appear in `entries` of the same Ready: they are applied after being persisted in step 1.
 * 4. Serve `readStates`: a read whose ctx matches may be answered once the applied index
 *    is >= its index.
 * 5. Call advance(rd). Exactly one Ready is outstanding at a time; calling tick/step/propose
 *    between ready() and advance() is allowed.
 */
export interface Ready {
  /** Changed leader or role, or null. */
  softState: SoftState | null;
  /** Changed term, vote or commit index, or null. Persist before sending messages. */
  hardState: HardState | null;
  /** Results of readIndex() calls whose leadership check completed. */
  readStates: ReadState[];
  /** Entries to append to stable storage before sending messages. */
  entries: Entry[];
  /** A snapshot received from the leader, to persist and to restore the state machine. */
  snapshot: Snapshot | null;
  /** Entries known committed and not yet applied, to apply in order after persisting. */
  committedEntries: Entry[];
  /** Messages to send after persisting. */
  messages: Message[];
  /** Whether the persisting step must be synced to disk (entries or term/vote changed);
   * a commit-index-only change may be written lazily. */
  mustSync: boolean;
}

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  isLearner: boolean;
  recentActive: boolean;
  paused: boolean;
  pendingSnapshot: number;
  inflight: number;
}

export interface Status {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  lead: NodeId;
  role: StateRole;
  leadTransferee: NodeId;
  config: ConfState;
  /** Per member (leader only; empty otherwise). */
  progress: Record<NodeId, ProgressStatus>;
}

export type SnapshotStatus = "finish" | "failure";

export class RawNode {
  readonly raft: Raft;
  #prevSoft: SoftState;
  #prevHard: HardState;
  #stepsOnAdvance: AdvanceStep[] = [];
  #outstanding = false;

  /** config.applied must be set when restarting with state already applied beyond the
   * snapshot; storage.initialState() supplies the persisted term, vote, commit and config. */
  constructor(config: Config, storage: Storage) {
    this.raft = new Raft(config, storage);
    this.#prevSoft = { lead: this.raft.lead, role: this.raft.state };
    this.#prevHard = this.raft.hardState();
  }

  /** Advances logical time by one tick (election and heartbeat timeouts count ticks). */
  tick(): void {
    this.raft.tick();
  }

  /**
   * As leader, stops ticking if the whole log is committed, applied and on every member, and
   * asks the followers to stop too (Raft.quiesced). False when it may not.
   */
  quiesce(): boolean {
    return this.raft.quiesce();
  }

  /** Ticks do nothing until a message or local input wakes this node. */
  quiesced(): boolean {
    return this.raft.quiesced;
  }

  /** Starts an election now (pre-vote first if enabled). */
  campaign(): void {
    this.raft.step(newMessage({ type: "MsgHup" }));
  }

  /** Proposes data to be appended to the log. Returns ErrProposalDropped when there is no
   * leader, a leadership transfer is in progress, or the uncommitted log is full; null when
   * it was accepted for the leader (which does not mean it will commit). */
  propose(data: Uint8Array): RaftError | null {
    return this.proposeMany([data]);
  }

  /** Proposes several entries in one message: they are appended, replicated and dropped
   * together (one MsgApp per follower instead of one per entry). */
  proposeMany(datas: readonly Uint8Array[]): RaftError | null {
    const entries = datas.map((data) => ({ term: 0, index: 0, type: "Normal" as const, data }));
    return this.raft.step(newMessage({ type: "MsgProp", from: this.raft.id, entries }));
  }

  /** Proposes a membership change. While an earlier change is unapplied, or when the change
   * does not fit the current configuration (joint/simple), the leader replaces it by an empty
   * entry. */
  proposeConfChange(cc: ConfChange): RaftError | null {
    return this.raft.step(
      newMessage({
        type: "MsgProp",
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: "ConfChange", data: encodeConfChange(cc) }],
      }),
    );
  }

  /**
   * Applies a committed conf change (call it while applying the entry). Returns the new
   * configuration, which the application persists with its applied state. Throws
   * ConfChangeError if the change is invalid for the current configuration: applications
   * validate first and blank out (nodeId None) changes they refuse, as etcd does.
   */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /** Steps a message received from a peer. */
  step(m: Message): RaftError | null {
    if (isLocalMessage(m.type)) return ErrStepLocalMsg;
    if (isResponseMessage(m.type) && !this.raft.trk.progress.has(m.from)) return ErrStepPeerNotFound;
    return this.raft.step(m);
  }

  /** Requests a linearizable read point; the answer is a ReadState with the same ctx in a
   * later Ready (none if leadership cannot be confirmed: the caller times out and retries). */
  readIndex(ctx: Uint8Array): void {
    this.raft.step(newMessage({ type: "MsgReadIndex", entries: [{ term: 0, index: 0, type: "Normal", data: ctx }] }));
  }

  /** Asks the leader to hand leadership to transferee (forwarded if we are a follower). */
  transferLeader(transferee: NodeId): void {
    this.raft.step(newMessage({ type: "MsgTransferLeader", from: transferee }));
  }

  /** The transport could not deliver to id: the leader probes it again. */
  reportUnreachable(id: NodeId): void {
    this.raft.step(newMessage({ type: "MsgUnreachable", from: id }));
  }

  /** Outcome of sending a snapshot to id (after a MsgSnap). */
  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    this.raft.step(newMessage({ type: "MsgSnapStatus", from: id, reject: status === "failure" }));
  }

  hasReady(): boolean {
    if (this.#outstanding) return false;
    const r = this.raft;
    if (r.lead !== this.#prevSoft.lead || r.state !== this.#prevSoft.role) return true;
    const hs = r.hardState();
    if (!hardStateEqual(hs, this.#prevHard)) return true;
    if (r.raftLog.unstable.nextSnapshot() !== null) return true;
    if (r.msgs.length > 0 || r.msgsAfterAppend.length > 0) return true;
    if (r.raftLog.hasNextUnstableEnts() || r.raftLog.hasNextCommittedEnts()) return true;
    return r.readStates.length > 0;
  }

  /** The current batch of work. Must be followed by advance() before the next ready(). */
  ready(): Ready {
    assert(!this.#outstanding, "ready() called again before advance()");
    const r = this.raft;
    const entries = r.raftLog.nextUnstableEnts();
    const committedEntries = r.raftLog.nextCommittedEnts();
    const messages = r.msgs.slice();
    const stepsOnAdvance: AdvanceStep[] = [];
    for (const m of r.msgsAfterAppend) {
      if (m.to === r.id) stepsOnAdvance.push({ kind: "msg", msg: m });
      else messages.push(m);
    }
    let softState: SoftState | null = null;
    if (r.lead !== this.#prevSoft.lead || r.state !== this.#prevSoft.role) {
      softState = { lead: r.lead, role: r.state };
      this.#prevSoft = softState;
    }
    const hs = r.hardState();
    let hardState: HardState | null = null;
    if (!hardStateEqual(hs, this.#prevHard)) {
      hardState = hs;
    }
    const mustSync = entries.length > 0 || hs.vote !== this.#prevHard.vote || hs.term !== this.#prevHard.term;
    if (hardState) this.#prevHard = hardState;
    const snapshot = r.raftLog.unstable.nextSnapshot();
    const readStates = r.readStates;
    r.readStates = [];

    // What advance() will do: mark the unstable entries and snapshot stable, then the
    // committed entries applied.
    const hasUnstable = r.raftLog.unstable.entries.length > 0;
    if (hasUnstable || snapshot) {
      stepsOnAdvance.push({
        kind: "stable",
        term: r.term,
        index: hasUnstable ? r.raftLog.lastIndex() : 0,
        logTerm: hasUnstable ? r.raftLog.lastTerm() : 0,
        snapshot,
      });
    }
    if (committedEntries.length > 0) {
      stepsOnAdvance.push({ kind: "applied", entries: committedEntries });
      r.raftLog.acceptApplying(committedEntries[committedEntries.length - 1]!.index, entriesSizeBytes(committedEntries));
    }
    r.msgs = [];
    r.msgsAfterAppend = [];
    r.raftLog.acceptUnstable();
    this.#stepsOnAdvance = stepsOnAdvance;
    this.#outstanding = true;
    return { softState, hardState, readStates, entries, snapshot, committedEntries, messages, mustSync };
  }

  /** Acknowledges that the last Ready was handled (persisted, sent, applied). */
  advance(_rd?: Ready): void {
    assert(this.#outstanding, "advance() without a Ready");
    this.#outstanding = false;
    const steps = this.#stepsOnAdvance;
    this.#stepsOnAdvance = [];
    for (const s of steps) this.raft.runAdvanceStep(s);
  }

  status(): Status {
    const r = this.raft;
    const progress: Record<NodeId, ProgressStatus> = {};
    if (r.state === "Leader") {
      r.trk.visit((id, pr) => {
        progress[id] = {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
          paused: pr.isPaused(),
          pendingSnapshot: pr.pendingSnapshot,
          inflight: pr.inflights.count(),
        };
      });
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.raftLog.committed,
      applied: r.raftLog.applied,
      lead: r.lead,
      role: r.state,
      leadTransferee: r.leadTransferee,
      config: r.trk.confState(),
      progress,
    };
  }
}

/** Decodes the ConfChange carried by a committed "ConfChange" entry. */
export function confChangeOf(e: Entry): ConfChange {
  assert(e.type === "ConfChange", `entry ${e.index} is not a conf change`);
  return decodeConfChange(e.data);
}

