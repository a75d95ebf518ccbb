// Raft: the consensus state machine. It has no I/O, no clock and no randomness of its own:
// time is tick(), randomness comes from Config.rng, input is step(message), and the output
// (messages to send, entries to persist and apply) is collected by RawNode into a Ready.
//
// The rules follow etcd-io/raft (and the Raft thesis): PreVote (§9.6), CheckQuorum (§6.2),
// ReadIndex (§6.4), leadership transfer (§3.10), joint consensus (§4.3) with apply-time
// activation, flow control with probe/replicate/snapshot progress states.

import type { Prng } from "../util/prng.ts";
import { bytesEqual, utf8 } from "../util/bytes.ts";
import {
  Changer,
  changeConfig,
  decodeConfChange,
  describeConfChange,
  isLeaveJoint,
  restoreConfig,
  type ChangeResult,
} from "./confchange.ts";
import { ErrProposalDropped, ErrSnapshotTemporarilyUnavailable, assert, type RaftError } from "./errors.ts";
import { NO_LIMIT, RaftLog } from "./log.ts";
import { discardLogger, type Logger, type LogLevel } from "./logger.ts";
import type { Progress } from "./progress.ts";
import { ReadOnly, type ReadOnlyOption } from "./read-only.ts";
import type { Storage } from "./storage.ts";
import { ProgressTracker, describeTrackerConfig } from "./tracker.ts";
import {
  None,
  entriesPayloadBytes,
  entriesSizeBytes,
  isEmptyHardState,
  newMessage,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type MessageType,
  type NodeId,
  type ReadState,
  type Snapshot,
  type StateRole,
} from "./types.ts";

export interface Config {
  /** This node's id; must not be None. */
  id: NodeId;
  /** Ticks without hearing from a leader before a follower campaigns (randomized in
   * [electionTicks, 2*electionTicks)). Must be > heartbeatTicks. Default 10. */
  electionTicks?: number;
  /** Ticks between a leader's heartbeats. Default 1. */
  heartbeatTicks?: number;
  /** The application's applied index when restarting (0 = the snapshot index). Committed
   * entries at or below it are not handed out again. */
  applied?: number;
  /** Upper bound on the entries of one MsgApp (at least one entry is always sent).
   * Default 1 MiB. */
  maxSizePerMsgBytes?: number;
  /** Upper bound on committed entries handed out per Ready. Default maxSizePerMsgBytes. */
  maxCommittedSizePerReadyBytes?: number;
  /** Upper bound on the payload of the leader's uncommitted tail; proposals beyond it are
   * dropped (ErrProposalDropped). 0 = no limit. Default 32 MiB. */
  maxUncommittedEntriesBytes?: number;
  /** Max MsgApp in flight to one follower in StateReplicate. Default 256. */
  maxInflightMsgs?: number;
  /** Max bytes in flight to one follower (0 = no limit). Default 0. */
  maxInflightBytes?: number;
  /** A leader that has not heard from a quorum for an election timeout steps down, and
   * followers ignore votes while they hear from a leader. Default true. */
  checkQuorum?: boolean;
  /** Campaign in two phases so a rejoining node does not disrupt a healthy leader.
   * Default true. */
  preVote?: boolean;
  /** "safe" (default): ReadIndex confirms leadership with a heartbeat round. "leaseBased"
   * trusts the CheckQuorum lease (unsafe under clock drift; needs checkQuorum). */
  readOnlyOption?: ReadOnlyOption;
  /** Followers drop proposals instead of forwarding them to the leader. Default false. */
  disableProposalForwarding?: boolean;
  /** Seeded randomness for election timeouts: a Prng or a function returning [0, 1). */
  rng: Prng | (() => number);
  logger?: Logger;
}

export type CampaignType = "CampaignPreElection" | "CampaignElection" | "CampaignTransfer";

const CAMPAIGN_TRANSFER_CTX = utf8("CampaignTransfer");

/** Work RawNode defers until the application acknowledges a Ready with advance(). */
export type AdvanceStep =
  | { kind: "msg"; msg: Message }
  | { kind: "stable"; term: number; index: number; logTerm: number; snapshot: Snapshot | null }
  | { kind: "applied"; entries: Entry[] };

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = None;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  readonly maxMsgSizeBytes: number;
  readonly maxUncommittedBytes: number;
  trk: ProgressTracker;
  state: StateRole = "Follower";
  isLearner = false;
  /** Messages that can be sent as soon as the Ready is handled (after persisting). */
  msgs: Message[] = [];
  /** Responses that vouch for persisted state (votes, append acks): sent, or stepped locally
   * when addressed to this node, only after the Ready's state is durable. */
  msgsAfterAppend: Message[] = [];
  lead: NodeId = None;
  /** Target of a leadership transfer in progress (thesis §3.10), or None. */
  leadTransferee: NodeId = None;
  /** >= the index of the latest conf change in the log; a new one may be proposed only
   * once applied >= this (one unapplied conf change at a time). */
  pendingConfIndex = 0;
  /** Estimate (never an overestimate) of the leader's uncommitted payload bytes. */
  uncommittedSize = 0;
  readOnly: ReadOnly;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  /**
   * Quiesced: ticks do nothing (no heartbeats, no election timeout) until any message other
   * than the leader's quiescing heartbeat and its answers arrives, or a local input (a
   * proposal, a read, a campaign, a transfer). A leader quiesces only with every member's log
   * complete and everything applied (quiesce()); its followers do when its last heartbeat
   * leaves their commit at their last index. A member that then needs the cluster (a restart,
   * a client) sends any message, which wakes whoever receives it.
   */
  quiesced = false;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  /** In [electionTimeout, 2*electionTimeout); redrawn whenever the node changes state. */
  randomizedElectionTimeout = 0;
  readonly disableProposalForwarding: boolean;
  /** MsgReadIndex received before the leader committed an entry of its term. */
  pendingReadIndexMessages: Message[] = [];
  readonly #rng: () => number;
  readonly #logger: Logger;

  constructor(c: Config, storage: Storage) {
    assert(c.id !== None, "cannot use none as id");
    this.id = c.id;
    this.heartbeatTimeout = c.heartbeatTicks ?? 1;
    this.electionTimeout = c.electionTicks ?? 10;
    assert(this.heartbeatTimeout > 0, "heartbeat tick must be greater than 0");
    assert(this.electionTimeout > this.heartbeatTimeout, "election tick must be greater than heartbeat tick");
    this.maxMsgSizeBytes = c.maxSizePerMsgBytes ?? 1 << 20;
    const maxUncommitted = c.maxUncommittedEntriesBytes ?? 32 << 20;
    this.maxUncommittedBytes = maxUncommitted === 0 ? NO_LIMIT : maxUncommitted;
    const maxInflight = c.maxInflightMsgs ?? 256;
    assert(maxInflight > 0, "max inflight messages must be greater than 0");
    const maxInflightBytes = c.maxInflightBytes ?? 0;
    assert(maxInflightBytes === 0 || maxInflightBytes >= this.maxMsgSizeBytes, "max inflight bytes must be >= max message size");
    this.checkQuorum = c.checkQuorum ?? true;
    this.preVote = c.preVote ?? true;
    const readOnlyOption = c.readOnlyOption ?? "safe";
    assert(readOnlyOption !== "leaseBased" || this.checkQuorum, "CheckQuorum must be enabled when ReadOnlyOption is leaseBased");
    this.readOnly = new ReadOnly(readOnlyOption);
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    const rng = c.rng;
    assert(rng !== undefined && rng !== null, "config.rng is required (inject a seeded PRNG)");
    this.#rng = typeof rng === "function" ? rng : () => rng.float();
    this.#logger = c.logger ?? discardLogger;

    this.raftLog = new RaftLog(storage, c.maxCommittedSizePerReadyBytes ?? this.maxMsgSizeBytes);
    const { hardState, confState } = storage.initialState();
    this.trk = new ProgressTracker(maxInflight, maxInflightBytes);
    this.switchToConfig(restoreConfig(this.trk, this.raftLog.lastIndex(), confState));
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    if ((c.applied ?? 0) > 0) this.raftLog.appliedTo(c.applied!, 0);
    this.becomeFollower(this.term, None);
    this.log(
      "info",
      `newRaft ${this.id} [peers: [${this.trk.voterNodes().join(",")}], term: ${this.term}, commit: ${this.raftLog.committed}, applied: ${this.raftLog.applied}, lastindex: ${this.raftLog.lastIndex()}, lastterm: ${this.raftLog.lastTerm()}]`,
    );
  }

  log(level: LogLevel, message: string): void {
    this.#logger.log(level, message);
  }

  hasLeader(): boolean {
    return this.lead !== None;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  // ---------------------------------------------------------------------------------------
  // Sending

  /** Queues m for sending. Vote messages carry an explicit term; all others get ours. */
  send(m: Message): void {
    if (m.from === None) m.from = this.id;
    const t = m.type;
    if (t === "MsgVote" || t === "MsgVoteResp" || t === "MsgPreVote" || t === "MsgPreVoteResp") {
      assert(m.term !== 0, `term should be set when sending ${t}`);
    } else {
      assert(m.term === 0, `term should not be set when sending ${t} (was ${m.term})`);
      // Proposals and read requests forwarded to the leader are like local messages.
      if (t !== "MsgProp" && t !== "MsgReadIndex") m.term = this.term;
    }
    if (t === "MsgAppResp" || t === "MsgVoteResp" || t === "MsgPreVoteResp") {
      // These vouch for state (a vote, appended entries) that must be durable before anyone
      // hears of it (thesis §3.8): they wait for the current Ready to be persisted.
      this.msgsAfterAppend.push(m);
    } else {
      assert(m.to !== this.id, `message should not be self-addressed when sending ${t}`);
      this.msgs.push(m);
    }
  }

  /** Sends an append (or, if the entries are gone, a snapshot) to `to` if its progress
   * allows; sendIfEmpty controls whether an append without entries (commit only) is sent. */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to)!;
    if (pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.term(prevIndex);
    if (prevTerm === null) return this.maybeSendSnapshot(to, pr);
    let ents: Entry[] | null = [];
    // A throttled replicating follower only gets empty appends, so that a full window of
    // lost messages cannot stall it for ever (the acks or rejections free the window).
    if (pr.state !== "StateReplicate" || !pr.inflights.full()) {
      ents = this.raftLog.entries(pr.next, this.maxMsgSizeBytes);
    }
    if (ents === null) return this.maybeSendSnapshot(to, pr);
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send(
      newMessage({ type: "MsgApp", to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.raftLog.committed }),
    );
    pr.sentEntries(ents.length, entriesPayloadBytes(ents));
    pr.sentCommitTo(this.raftLog.committed);
    return true;
  }

  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  maybeSendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) {
      this.log("debug", `ignore sending snapshot to ${to} since it is not recently active`);
      return false;
    }
    let snapshot: Snapshot;
    try {
      snapshot = this.raftLog.snapshot();
    } catch (err) {
      if (err === ErrSnapshotTemporarilyUnavailable) {
        this.log("debug", `${this.id} failed to send snapshot to ${to} because snapshot is temporarily unavailable`);
        return false;
      }
      throw err;
    }
    assert(snapshot.metadata.index !== 0, "need non-empty snapshot");
    const sindex = snapshot.metadata.index;
    this.log(
      "debug",
      `${this.id} [firstindex: ${this.raftLog.firstIndex()}, commit: ${this.raftLog.committed}] sent snapshot[index: ${sindex}, term: ${snapshot.metadata.term}] to ${to} [${pr}]`,
    );
    pr.becomeSnapshot(sindex);
    this.send(newMessage({ type: "MsgSnap", to, snapshot }));
    return true;
  }

  sendHeartbeat(to: NodeId, ctx: Uint8Array | null, quiesce = false): void {
    const pr = this.trk.progress.get(to)!;
    // Never tell a follower to commit beyond what it is known to have: its log may differ.
    const commit = Math.min(pr.match, this.raftLog.committed);
    const m = newMessage({ type: "MsgHeartbeat", to, commit, context: ctx });
    if (quiesce) m.quiesce = true;
    this.send(m);
    pr.sentCommitTo(commit);
  }

  bcastAppend(): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.sendAppend(id);
    });
  }

  bcastHeartbeat(): void {
    const ctx = this.readOnly.heartbeatCtx();
    this.trk.visit((id) => {
      if (id !== this.id) this.sendHeartbeat(id, ctx);
    });
  }

  // ---------------------------------------------------------------------------------------
  // Applying and committing

  appliedTo(index: number, sizeBytes: number): void {
    const newApplied = Math.max(index, this.raftLog.applied);
    this.raftLog.appliedTo(newApplied, sizeBytes);
    if (this.trk.config.autoLeave && newApplied >= this.pendingConfIndex && this.state === "Leader") {
      // The joint configuration is applied and marked auto-leave: propose leaving it. The
      // empty entry is never refused for size; it can be dropped during a transfer, in which
      // case this is retried on the next apply.
      const m = newMessage({
        type: "MsgProp",
        from: this.id,
        entries: [{ term: 0, index: 0, type: "ConfChange", data: new Uint8Array(0) }],
      });
      const err = this.step(m);
      this.log(
        err ? "debug" : "info",
        err
          ? `not initiating automatic transition out of joint configuration ${describeTrackerConfig(this.trk.config)}: ${err.message}`
          : `initiating automatic transition out of joint configuration ${describeTrackerConfig(this.trk.config)}`,
      );
    }
  }

  appliedSnap(snap: Snapshot): void {
    const index = snap.metadata.index;
    this.raftLog.stableSnapTo(index);
    this.appliedTo(index, 0);
  }

  /** Leader: advances the commit index to what a quorum has matched, if that entry is from
   * the current term (Raft §5.4.2: never commit earlier terms by counting replicas). */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  reset(term: number): void {
    this.quiesced = false;
    if (this.term !== term) {
      this.term = term;
      this.vote = None;
    }
    this.lead = None;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    this.trk.visit((id, pr) => {
      pr.match = id === this.id ? last : 0;
      pr.next = last + 1;
      pr.sentCommit = 0;
      pr.state = "StateProbe";
      pr.pendingSnapshot = 0;
      pr.recentActive = false;
      pr.msgAppFlowPaused = false;
      pr.inflights = this.trk.newInflights();
    });
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.readOnly.option);
  }

  /** Leader: appends entries in the current term; false if over the uncommitted limit. */
  appendEntry(es: Entry[]): boolean {
    const li = this.raftLog.lastIndex();
    const ents = es.map((e, i): Entry => ({ term: this.term, index: li + 1 + i, type: e.type, data: e.data }));
    if (!this.increaseUncommittedSize(ents)) {
      this.log("warn", `${this.id} appending new entries to log would exceed uncommitted entry size limit; dropping proposal`);
      return false;
    }
    const last = this.raftLog.append(ents);
    // The leader acknowledges its own entries once they are durable (it sends itself no
    // MsgApp): this response is stepped locally when the Ready is advanced.
    this.send(newMessage({ type: "MsgAppResp", to: this.id, index: last }));
    return true;
  }

  // ---------------------------------------------------------------------------------------
  // Time

  tick(): void {
    if (this.quiesced) return;
    if (this.state === "Leader") this.tickHeartbeat();
    else this.tickElection();
  }

  /**
   * Whether this leader may quiesce: its whole log is committed, applied and on every member
   * (voters and learners, each replicating), with no read, transfer, configuration change or
   * uncommitted proposal in progress.
   */
  canQuiesce(): boolean {
    if (this.state !== "Leader" || this.quiesced || this.leadTransferee !== None) return false;
    const last = this.raftLog.lastIndex();
    if (this.raftLog.committed !== last || this.raftLog.applied !== last) return false;
    if (this.pendingConfIndex > last || this.trk.config.voters[1].size > 0) return false;
    if (this.readOnly.pendingCount() > 0 || this.pendingReadIndexMessages.length > 0) return false;
    let complete = true;
    this.trk.visit((_id, pr) => {
      if (pr.match !== last || pr.state !== "StateReplicate") complete = false;
    });
    return complete;
  }

  /** Quiesces this leader if it may (canQuiesce): one last heartbeat asks the followers to. */
  quiesce(): boolean {
    if (!this.canQuiesce()) return false;
    this.trk.visit((id) => {
      if (id !== this.id) this.sendHeartbeat(id, null, true);
    });
    this.quiesced = true;
    this.log("info", `${this.id} quiesced at term ${this.term}, index ${this.raftLog.lastIndex()}`);
    return true;
  }

  tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(newMessage({ type: "MsgHup", from: this.id }));
    }
  }

  tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(newMessage({ type: "MsgCheckQuorum", from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === "Leader" && this.leadTransferee !== None) this.abortLeaderTransfer();
    }
    if (this.state !== "Leader") return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(newMessage({ type: "MsgBeat", from: this.id }));
    }
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  resetRandomizedElectionTimeout(): void {
    const r = this.#rng();
    assert(r >= 0 && r < 1, `rng returned ${r}, want [0, 1)`);
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(r * this.electionTimeout);
  }

  // ---------------------------------------------------------------------------------------
  // Role transitions

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = "Follower";
    this.log("info", `${this.id} became follower at term ${this.term}`);
  }

  becomeCandidate(): void {
    assert(this.state !== "Leader", "invalid transition [leader -> candidate]");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = "Candidate";
    this.log("info", `${this.id} became candidate at term ${this.term}`);
  }

  /** Pre-candidates keep their term and vote: a failed pre-election changes nothing. */
  becomePreCandidate(): void {
    assert(this.state !== "Leader", "invalid transition [leader -> pre-candidate]");
    this.trk.resetVotes();
    this.lead = None;
    this.state = "PreCandidate";
    this.log("info", `${this.id} became pre-candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    assert(this.state !== "Follower", "invalid transition [follower -> leader]");
    this.reset(this.term);
    this.lead = this.id;
    this.state = "Leader";
    const pr = this.trk.progress.get(this.id)!;
    pr.becomeReplicate();
    pr.recentActive = true;
    // Any conf change in the log may still be unapplied: allow none until all of it is.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // The no-op entry of the new term: committing it commits everything before it, and
    // ReadIndex waits for it (§5.4.2, §6.4).
    const ok = this.appendEntry([{ term: 0, index: 0, type: "Normal", data: new Uint8Array(0) }]);
    assert(ok, "empty entry was dropped");
    this.log("info", `${this.id} became leader at term ${this.term}`);
  }

  hup(t: CampaignType): void {
    if (this.state === "Leader") {
      this.log("debug", `${this.id} ignoring MsgHup because already leader`);
      return;
    }
    if (!this.promotable()) {
      this.log("warn", `${this.id} is unpromotable and can not campaign`);
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.log("warn", `${this.id} cannot campaign at term ${this.term} since there are still pending configuration changes to apply`);
      return;
    }
    this.log("info", `${this.id} is starting a new election at term ${this.term}`);
    this.campaign(t);
  }

  hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false;
    let found = false;
    this.raftLog.scan(this.raftLog.applied + 1, this.raftLog.committed + 1, this.raftLog.maxApplyingEntsBytes, (ents) => {
      found = ents.some((e) => e.type === "ConfChange");
      return found;
    });
    return found;
  }

  campaign(t: CampaignType): void {
    let term: number;
    let voteMsg: MessageType;
    if (t === "CampaignPreElection") {
      this.becomePreCandidate();
      voteMsg = "MsgPreVote";
      // Pre-votes are asked for the term we would campaign in, without moving to it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = "MsgVote";
      term = this.term;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of this.trk.voterNodes()) {
      if (id === this.id) {
        // Our own vote counts once it is durable: stepped locally on advance.
        this.send(newMessage({ type: voteRespType(voteMsg), to: id, term }));
        continue;
      }
      this.log("info", `${this.id} [logterm: ${lastTerm}, index: ${lastIndex}] sent ${voteMsg} request to ${id} at term ${this.term}`);
      this.send(
        newMessage({
          type: voteMsg,
          to: id,
          term,
          index: lastIndex,
          logTerm: lastTerm,
          context: t === "CampaignTransfer" ? CAMPAIGN_TRANSFER_CTX : null,
        }),
      );
    }
  }

  poll(id: NodeId, t: MessageType, granted: boolean): ReturnType<ProgressTracker["tallyVotes"]> {
    this.log("info", `${this.id} received ${t}${granted ? "" : " rejection"} from ${id} at term ${this.term}`);
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes();
  }

  // ---------------------------------------------------------------------------------------
  // Step

  /** Advances the state machine with one message. Returns ErrProposalDropped when a
   * proposal cannot be accepted; other outcomes are reflected in the next Ready. */
  step(m: Message): RaftError | null {
    // Anything but the leader's quiescing heartbeat and its answers wakes a quiesced node.
    if (this.quiesced && m.type !== "MsgHeartbeatResp" && !(m.type === "MsgHeartbeat" && m.quiesce)) {
      this.quiesced = false;
      this.log("info", `${this.id} woke from quiescence on ${m.type} from ${m.from}`);
    }
    // Term handling first; it may turn us into a follower.
    if (m.term === 0) {
      // local message (or a forwarded proposal / read request)
    } else if (m.term > this.term) {
      if (m.type === "MsgVote" || m.type === "MsgPreVote") {
        const force = m.context !== null && bytesEqual(m.context, CAMPAIGN_TRANSFER_CTX);
        const inLease = this.checkQuorum && this.lead !== None && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // We heard from a leader within the minimum election timeout: ignore the vote and
          // keep our term (thesis §4.2.3), so a disruptive node cannot depose the leader.
          this.log(
            "info",
            `${this.id} [logterm: ${this.raftLog.lastTerm()}, index: ${this.raftLog.lastIndex()}, vote: ${this.vote}] ignored ${m.type} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}: lease is not expired (remaining ticks: ${this.electionTimeout - this.electionElapsed})`,
          );
          return null;
        }
      }
      if (m.type === "MsgPreVote") {
        // Never change our term in response to a PreVote.
      } else if (m.type === "MsgPreVoteResp" && !m.reject) {
        // A granted pre-vote carries the term we will campaign in; we move to it only once
        // a quorum granted. (A rejection carries the rejecter's higher term: adopt it.)
      } else {
        this.log("info", `${this.id} [term: ${this.term}] received a ${m.type} message with higher term from ${m.from} [term: ${m.term}]`);
        if (m.type === "MsgApp" || m.type === "MsgHeartbeat" || m.type === "MsgSnap") {
          this.becomeFollower(m.term, m.from);
        } else {
          this.becomeFollower(m.term, None);
        }
      }
    } else if (m.term < this.term) {
      if (m.type === "MsgHeartbeat" || m.type === "MsgApp") {
        // A leader of an older term is talking to us: answer with our term so that it steps
        // down and a fresh election can run (Raft §5.1). With CheckQuorum or PreVote we may
        // have advanced our term while partitioned and cannot win or rejoin on our own. And
        // even without them, our vote requests may never reach that leader (our own view of
        // the configuration can be stale), so silence could leave us apart for ever.
        // (etcd-raft answers only with CheckQuorum or PreVote; the simulator found the
        // deadlock without them, seed 23513.)
        this.send(newMessage({ type: "MsgAppResp", to: m.from }));
      } else if (m.type === "MsgPreVote" || m.type === "MsgVote") {
        // Reject explicitly, with our term, so that the candidate catches up (Raft §5.1).
        // Silence can deadlock: nodes whose (stale) configuration does not include the
        // candidate never send it their own vote requests, so it would never learn the term
        // it must exceed. (etcd-raft answers only pre-votes; the simulator found the
        // deadlock for votes, seed 50858.)
        this.log(
          "info",
          `${this.id} [logterm: ${this.raftLog.lastTerm()}, index: ${this.raftLog.lastIndex()}, vote: ${this.vote}] rejected ${m.type} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`,
        );
        this.send(newMessage({ type: voteRespType(m.type), to: m.from, term: this.term, reject: true }));
      } else {
        this.log("info", `${this.id} [term: ${this.term}] ignored a ${m.type} message with lower term from ${m.from} [term: ${m.term}]`);
      }
      return null;
    }

    switch (m.type) {
      case "MsgHup":
        this.hup(this.preVote ? "CampaignPreElection" : "CampaignElection");
        return null;
      case "MsgVote":
      case "MsgPreVote": {
        // We can vote for a candidate we already voted for, or if we have not voted and know
        // no leader in this term, or for any pre-vote of a future term...
        const canVote =
          this.vote === m.from ||
          (this.vote === None && this.lead === None) ||
          (m.type === "MsgPreVote" && m.term > this.term);
        // ...if its log is at least as up to date as ours (election restriction, §5.4.1).
        // Learners vote too: a learner may have been promoted without knowing it yet.
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          this.log(
            "info",
            `${this.id} [logterm: ${this.raftLog.lastTerm()}, index: ${this.raftLog.lastIndex()}, vote: ${this.vote}] cast ${m.type} for ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`,
          );
          // Answer with the message's term, not ours: for pre-votes ours may be lower and
          // the pre-candidate would ignore the response.
          this.send(newMessage({ type: voteRespType(m.type), to: m.from, term: m.term }));
          if (m.type === "MsgVote") {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.log(
            "info",
            `${this.id} [logterm: ${this.raftLog.lastTerm()}, index: ${this.raftLog.lastIndex()}, vote: ${this.vote}] rejected ${m.type} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`,
          );
          this.send(newMessage({ type: voteRespType(m.type), to: m.from, term: this.term, reject: true }));
        }
        return null;
      }
      default:
        switch (this.state) {
          case "Leader":
            return this.stepLeader(m);
          case "Candidate":
          case "PreCandidate":
            return this.stepCandidate(m);
          case "Follower":
            return this.stepFollower(m);
        }
    }
  }

  stepLeader(m: Message): RaftError | null {
    // Messages that need no progress for m.from.
    switch (m.type) {
      case "MsgBeat":
        this.bcastHeartbeat();
        return null;
      case "MsgCheckQuorum":
        if (!this.trk.quorumActive()) {
          this.log("warn", `${this.id} stepped down to follower since quorum is not active`);
          this.becomeFollower(this.term, None);
        }
        // Everyone but us must prove activity again before the next check.
        this.trk.visit((id, pr) => {
          if (id !== this.id) pr.recentActive = false;
        });
        return null;
      case "MsgProp":
        return this.handlePropose(m);
      case "MsgReadIndex":
        if (this.trk.isSingleton()) {
          this.respondToReadIndex(m, this.raftLog.committed);
          return null;
        }
        // Until an entry of this term is committed, our commit index may lag the true one
        // (entries of earlier terms are not yet known committed): postpone the read.
        if (!this.committedEntryInCurrentTerm()) {
          this.pendingReadIndexMessages.push(m);
          return null;
        }
        this.sendReadIndexResponse(m);
        return null;
    }

    const pr = this.trk.progress.get(m.from);
    if (!pr) {
      this.log("debug", `${this.id} no progress available for ${m.from}`);
      return null;
    }
    switch (m.type) {
      case "MsgAppResp":
        this.handleAppendResponse(m, pr);
        break;
      case "MsgHeartbeatResp":
        pr.recentActive = true;
        pr.msgAppFlowPaused = false;
        // Keep a lagging or probing follower moving (also recovers a full window whose
        // messages were all lost).
        if (pr.match < this.raftLog.lastIndex() || pr.state === "StateProbe") this.sendAppend(m.from);
        if (this.readOnly.option !== "safe" || m.context === null || m.context.length === 0) return null;
        this.readOnly.recvAck(m.from, m.context);
        for (const rs of this.readOnly.maybeAdvance(this.trk.config.voters)) this.respondToReadIndex(rs.req, rs.index);
        break;
      case "MsgSnapStatus":
        if (pr.state !== "StateSnapshot") return null;
        if (!m.reject) {
          pr.becomeProbe();
          this.log("debug", `${this.id} snapshot succeeded, resumed sending replication messages to ${m.from} [${pr}]`);
        } else {
          // Forget the pending snapshot first, or we would probe from its index.
          pr.pendingSnapshot = 0;
          pr.becomeProbe();
          this.log("debug", `${this.id} snapshot failed, resumed sending replication messages to ${m.from} [${pr}]`);
        }
        // Wait for the follower's MsgAppResp (success) or a heartbeat interval (failure).
        pr.msgAppFlowPaused = true;
        break;
      case "MsgUnreachable":
        // An unreachable follower probably lost appends in flight: probe again.
        if (pr.state === "StateReplicate") pr.becomeProbe();
        this.log("debug", `${this.id} failed to send message to ${m.from} because it is unreachable [${pr}]`);
        break;
      case "MsgTransferLeader": {
        if (pr.isLearner) {
          this.log("debug", `${this.id} is learner. Ignored transferring leadership`);
          return null;
        }
        const transferee = m.from;
        const last = this.leadTransferee;
        if (last !== None) {
          if (last === transferee) {
            this.log("info", `${this.id} [term ${this.term}] transfer leadership to ${transferee} is in progress, ignores request to same node ${transferee}`);
            return null;
          }
          this.abortLeaderTransfer();
          this.log("info", `${this.id} [term ${this.term}] abort previous transferring leadership to ${last}`);
        }
        if (transferee === this.id) {
          this.log("debug", `${this.id} is already leader. Ignored transferring leadership to self`);
          return null;
        }
        this.log("info", `${this.id} [term ${this.term}] starts to transfer leadership to ${transferee}`);
        // The transfer must finish within an election timeout.
        this.electionElapsed = 0;
        this.leadTransferee = transferee;
        if (pr.match === this.raftLog.lastIndex()) {
          this.sendTimeoutNow(transferee);
          this.log("info", `${this.id} sends MsgTimeoutNow to ${transferee} immediately as ${transferee} already has up-to-date log`);
        } else {
          this.sendAppend(transferee);
        }
        break;
      }
    }
    return null;
  }

  handlePropose(m: Message): RaftError | null {
    assert(m.entries.length > 0, `${this.id} stepped empty MsgProp`);
    if (!this.trk.progress.has(this.id)) {
      // Removed from the configuration while leading: take no new proposals.
      return ErrProposalDropped;
    }
    if (this.leadTransferee !== None) {
      this.log("debug", `${this.id} [term ${this.term}] transfer leadership to ${this.leadTransferee} is in progress; dropping proposal`);
      return ErrProposalDropped;
    }
    const ents = m.entries.slice();
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      if (e.type !== "ConfChange") continue;
      const cc = decodeConfChange(e.data);
      const alreadyPending = this.pendingConfIndex > this.raftLog.applied;
      const alreadyJoint = this.trk.isJoint();
      const wantsLeaveJoint = isLeaveJoint(cc);
      let failed = "";
      if (alreadyPending) {
        failed = `possible unapplied conf change at index ${this.pendingConfIndex} (applied to ${this.raftLog.applied})`;
      } else if (alreadyJoint && !wantsLeaveJoint) {
        failed = "must transition out of joint config first";
      } else if (!alreadyJoint && wantsLeaveJoint) {
        failed = "not in joint state; refusing empty conf change";
      }
      if (failed !== "") {
        // Replace it by an empty normal entry: the proposer sees it apply as a no-op.
        this.log("info", `${this.id} ignoring conf change ${describeConfChange(cc)} at config ${describeTrackerConfig(this.trk.config)}: ${failed}`);
        ents[i] = { term: 0, index: 0, type: "Normal", data: new Uint8Array(0) };
      } else {
        this.pendingConfIndex = this.raftLog.lastIndex() + i + 1;
      }
    }
    if (!this.appendEntry(ents)) return ErrProposalDropped;
    this.bcastAppend();
    return null;
  }

  handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      // rejectHint/logTerm: the follower's guess at the highest (index, term) that may match.
      // Skip every index of ours whose term is above the follower's term there: a probe can
      // only succeed where our term is <= theirs (terms only grow along a log).
      this.log("debug", `${this.id} received MsgAppResp(rejected, hint: (index ${m.rejectHint}, term ${m.logTerm})) from ${m.from} for index ${m.index}`);
      let nextProbeIdx = m.rejectHint;
      if (m.logTerm > 0) nextProbeIdx = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0];
      if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
        this.log("debug", `${this.id} decreased progress of ${m.from} to [${pr}]`);
        if (pr.state === "StateReplicate") pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    // Update on a new match, or move a probing follower that is caught up to replicate.
    if (!(pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === "StateProbe"))) return;
    if (pr.state === "StateProbe") {
      pr.becomeReplicate();
    } else if (pr.state === "StateSnapshot" && pr.match + 1 >= this.raftLog.firstIndex()) {
      // The follower can be caught up from the log now (whatever snapshot got it there).
      this.log("debug", `${this.id} recovered from needing snapshot, resumed sending replication messages to ${m.from} [${pr}]`);
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === "StateReplicate") {
      pr.inflights.freeLE(m.index);
    }
    if (this.maybeCommit()) {
      // An entry of this term is committed: postponed reads can be served now.
      this.releasePendingReadIndexMessages();
      this.bcastAppend();
    } else if (m.from !== this.id && pr.canBumpCommit(this.raftLog.committed)) {
      this.sendAppend(m.from);
    }
    // The window may have room for several messages now.
    if (m.from !== this.id) {
      while (this.maybeSendAppend(m.from, false)) {
        // keep sending
      }
    }
    if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
      this.log("info", `${this.id} sent MsgTimeoutNow to ${m.from} after received MsgAppResp`);
      this.sendTimeoutNow(m.from);
    }
  }

  /** Shared by Candidate and PreCandidate; each counts only its own kind of vote response. */
  stepCandidate(m: Message): RaftError | null {
    const myVoteResp: MessageType = this.state === "PreCandidate" ? "MsgPreVoteResp" : "MsgVoteResp";
    switch (m.type) {
      case "MsgProp":
        this.log("info", `${this.id} no leader at term ${this.term}; dropping proposal`);
        return ErrProposalDropped;
      case "MsgApp":
        this.becomeFollower(m.term, m.from); // m.term === this.term here
        this.handleAppendEntries(m);
        return null;
      case "MsgHeartbeat":
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return null;
      case "MsgSnap":
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return null;
      case "MsgTimeoutNow":
        this.log("debug", `${this.id} [term ${this.term} state ${this.state}] ignored MsgTimeoutNow from ${m.from}`);
        return null;
    }
    if (m.type === myVoteResp) {
      const { granted, rejected, result } = this.poll(m.from, m.type, !m.reject);
      this.log("info", `${this.id} has received ${granted} ${m.type} votes and ${rejected} vote rejections`);
      if (result === "VoteWon") {
        if (this.state === "PreCandidate") {
          this.campaign("CampaignElection");
        } else {
          this.becomeLeader();
          this.bcastAppend();
        }
      } else if (result === "VoteLost") {
        // A pre-vote response carries a future term; stay in ours.
        this.becomeFollower(this.term, None);
      }
    }
    return null;
  }

  stepFollower(m: Message): RaftError | null {
    switch (m.type) {
      case "MsgProp":
        if (this.lead === None) {
          this.log("info", `${this.id} no leader at term ${this.term}; dropping proposal`);
          return ErrProposalDropped;
        }
        if (this.disableProposalForwarding) {
          this.log("info", `${this.id} not forwarding to leader ${this.lead} at term ${this.term}; dropping proposal`);
          return ErrProposalDropped;
        }
        this.send({ ...m, to: this.lead, term: 0 });
        return null;
      case "MsgApp":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return null;
      case "MsgHeartbeat":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return null;
      case "MsgSnap":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return null;
      case "MsgTransferLeader":
        if (this.lead === None) {
          this.log("info", `${this.id} no leader at term ${this.term}; dropping leader transfer msg`);
          return null;
        }
        this.send({ ...m, to: this.lead, term: 0 });
        return null;
      case "MsgTimeoutNow":
        // The leader asks us to take over: campaign now, without pre-vote (we know the
        // cluster is healthy) and with the transfer marker so voters ignore their lease.
        this.log("info", `${this.id} [term ${this.term}] received MsgTimeoutNow from ${m.from} and starts an election to get leadership.`);
        this.hup("CampaignTransfer");
        return null;
      case "MsgReadIndex":
        if (this.lead === None) {
          this.log("info", `${this.id} no leader at term ${this.term}; dropping index reading msg`);
          return null;
        }
        this.send({ ...m, to: this.lead, term: 0 });
        return null;
      case "MsgReadIndexResp":
        if (m.entries.length !== 1) {
          this.log("error", `${this.id} invalid format of MsgReadIndexResp from ${m.from}, entries count: ${m.entries.length}`);
          return null;
        }
        this.readStates.push({ index: m.index, requestCtx: m.entries[0]!.data });
        return null;
    }
    return null;
  }

  handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      // Everything up to our commit index is known to match: tell the leader so.
      this.send(newMessage({ type: "MsgAppResp", to: m.from, index: this.raftLog.committed }));
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== null) {
      this.send(newMessage({ type: "MsgAppResp", to: m.from, index: lastNew }));
      return;
    }
    this.log(
      "debug",
      `${this.id} [logterm: ${this.raftLog.term(m.index) ?? 0}, index: ${m.index}] rejected MsgApp [logterm: ${m.logTerm}, index: ${m.index}] from ${m.from}`,
    );
    // Hint: our largest (index, term) with index <= m.index and term <= m.logTerm. Every
    // entry above it has a term the leader's log cannot have there, so the leader may skip
    // them in one round trip instead of one per entry.
    const hintIndex = Math.min(m.index, this.raftLog.lastIndex());
    const [hi, ht] = this.raftLog.findConflictByTerm(hintIndex, m.logTerm);
    this.send(newMessage({ type: "MsgAppResp", to: m.from, index: m.index, reject: true, rejectHint: hi, logTerm: ht }));
  }

  handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send(newMessage({ type: "MsgHeartbeatResp", to: m.from, context: m.context }));
    // The leader quiesced: follow it once everything it has is committed here too (the
    // application then applies it before going idle).
    if (m.quiesce && this.raftLog.committed === this.raftLog.lastIndex()) {
      this.quiesced = true;
      this.electionElapsed = 0;
    }
  }

  handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (!s) {
      this.log("warn", `${this.id} received MsgSnap without a snapshot from ${m.from}`);
      return;
    }
    const { index, term } = s.metadata;
    if (this.restore(s)) {
      this.log("info", `${this.id} [commit: ${this.raftLog.committed}] restored snapshot [index: ${index}, term: ${term}]`);
      this.send(newMessage({ type: "MsgAppResp", to: m.from, index: this.raftLog.lastIndex() }));
    } else {
      this.log("info", `${this.id} [commit: ${this.raftLog.committed}] ignored snapshot [index: ${index}, term: ${term}]`);
      this.send(newMessage({ type: "MsgAppResp", to: m.from, index: this.raftLog.committed }));
    }
  }

  /** Installs a snapshot (log and configuration). False if it is not newer than our commit
   * index, or if our log already has its last entry (then we just commit up to it). */
  restore(s: Snapshot): boolean {
    const { index, term, confState } = s.metadata;
    if (index <= this.raftLog.committed) return false;
    if (this.state !== "Follower") {
      // Defense in depth: never restore as a leader or candidate.
      this.log("warn", `${this.id} attempted to restore snapshot as leader; should never happen`);
      this.becomeFollower(this.term + 1, None);
      return false;
    }
    if (this.raftLog.applying > this.raftLog.applied) {
      // Committed entries handed out in a Ready are still being applied; some may be conf
      // changes that must apply to the configuration they were committed under. Switching
      // to the snapshot's configuration now would pull it from under them: ignore the
      // snapshot, the leader sends another one.
      this.log("info", `${this.id} ignored snapshot [index: ${index}, term: ${term}] while applying up to ${this.raftLog.applying}`);
      return false;
    }
    const member = [confState.voters, confState.learners, confState.votersOutgoing].some((ids) => ids.includes(this.id));
    if (!member) {
      this.log("warn", `${this.id} attempted to restore snapshot but it is not in the ConfState; should never happen`);
      return false;
    }
    if (this.raftLog.matchTerm(index, term)) {
      this.log(
        "info",
        `${this.id} [commit: ${this.raftLog.committed}, lastindex: ${this.raftLog.lastIndex()}, lastterm: ${this.raftLog.lastTerm()}] fast-forwarded commit to snapshot [index: ${index}, term: ${term}]`,
      );
      this.raftLog.commitTo(index);
      return false;
    }
    this.raftLog.restore(s);
    this.trk = new ProgressTracker(this.trk.maxInflight, this.trk.maxInflightBytes);
    this.switchToConfig(restoreConfig(this.trk, this.raftLog.lastIndex(), confState));
    this.log(
      "info",
      `${this.id} [commit: ${this.raftLog.committed}, lastindex: ${this.raftLog.lastIndex()}, lastterm: ${this.raftLog.lastTerm()}] restored snapshot [index: ${index}, term: ${term}]`,
    );
    return true;
  }

  /** Can this node become leader: it is a voter and has no snapshot pending. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasNextOrInProgressSnapshot();
  }

  /** Applies a committed (and now applied) conf change. Throws ConfChangeError if invalid. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.switchToConfig(changeConfig(Changer.of(this.trk, this.raftLog.lastIndex()), cc));
  }

  switchToConfig(r: ChangeResult): ConfState {
    this.trk.config = r.config;
    this.trk.setProgress(r.progress);
    this.log("info", `${this.id} switched to configuration ${describeTrackerConfig(this.trk.config)}`);
    const cs = this.trk.confState();
    const pr = this.trk.progress.get(this.id);
    this.isLearner = pr !== undefined && pr.isLearner;
    if ((pr === undefined || this.isLearner) && this.state === "Leader") {
      // Removed or demoted while leading: step down (someone in the configuration will
      // campaign once the election timeout passes).
      this.becomeFollower(this.term, None);
      return cs;
    }
    if (this.state !== "Leader" || cs.voters.length === 0) return cs;
    if (this.maybeCommit()) {
      // The new quorum may commit more.
      this.bcastAppend();
    } else {
      // Probe new members right away.
      this.trk.visit((id) => {
        if (id !== this.id) this.maybeSendAppend(id, false);
      });
    }
    if (this.leadTransferee !== None && !this.trk.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    return cs;
  }

  loadState(hs: HardState): void {
    assert(
      hs.commit >= this.raftLog.committed && hs.commit <= this.raftLog.lastIndex(),
      `${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
    );
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  sendTimeoutNow(to: NodeId): void {
    this.send(newMessage({ type: "MsgTimeoutNow", to }));
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = None;
  }

  committedEntryInCurrentTerm(): boolean {
    return (this.raftLog.term(this.raftLog.committed) ?? 0) === this.term;
  }

  /** A local request becomes a ReadState; a forwarded one gets a MsgReadIndexResp. */
  respondToReadIndex(req: Message, readIndex: number): void {
    if (req.from === None || req.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: req.entries[0]!.data });
      return;
    }
    this.send(newMessage({ type: "MsgReadIndexResp", to: req.from, index: readIndex, entries: req.entries }));
  }

  sendReadIndexResponse(m: Message): void {
    if (this.readOnly.option === "safe") {
      // Confirm leadership with a heartbeat round; our own ack counts immediately.
      this.readOnly.addRequest(this.raftLog.committed, m);
      this.readOnly.recvAck(this.id, this.readOnly.heartbeatCtx());
      this.bcastHeartbeat();
      // A configuration where we alone are a quorum confirms at once.
      for (const rs of this.readOnly.maybeAdvance(this.trk.config.voters)) this.respondToReadIndex(rs.req, rs.index);
    } else {
      this.respondToReadIndex(m, this.raftLog.committed);
    }
  }

  releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    if (!this.committedEntryInCurrentTerm()) {
      this.log("error", "pending MsgReadIndex should be released only after first commit in current term");
      return;
    }
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.sendReadIndexResponse(m);
  }

  increaseUncommittedSize(ents: Entry[]): boolean {
    const s = entriesPayloadBytes(ents);
    // An empty tail accepts anything; an empty entry is always accepted.
    if (this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedBytes) return false;
    this.uncommittedSize += s;
    return true;
  }

  reduceUncommittedSize(s: number): void {
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }

  // ---------------------------------------------------------------------------------------
  // Work deferred to advance()

  /** The application persisted a Ready's entries (ending at index/logTerm, stamped with the
   * term at the time) and snapshot. */
  onStable(term: number, index: number, logTerm: number, snapshot: Snapshot | null): void {
    // If the term moved on since, the entries may have been replaced in the unstable log by
    // a new leader's; they will simply be written again.
    if (index !== 0 && term === this.term) this.raftLog.stableTo(index, logTerm);
    if (snapshot) this.appliedSnap(snapshot);
  }

  onApplied(entries: Entry[]): void {
    if (entries.length === 0) return;
    this.appliedTo(entries[entries.length - 1]!.index, entriesSizeBytes(entries));
    this.reduceUncommittedSize(entriesPayloadBytes(entries));
  }

  runAdvanceStep(s: AdvanceStep): void {
    if (s.kind === "msg") this.step(s.msg);
    else if (s.kind === "stable") this.onStable(s.term, s.index, s.logTerm, s.snapshot);
    else this.onApplied(s.entries);
  }
}

export function voteRespType(t: MessageType): MessageType {
  if (t === "MsgVote") return "MsgVoteResp";
  if (t === "MsgPreVote") return "MsgPreVoteResp";
  throw new Error(`raft: not a vote message: ${t}`);
}

