// The deterministic whole-cluster simulator. One seed chooses everything: the cluster shape
// and raft settings, the network's faults, crashes (keeping only what was persisted),
// pauses, partitions, membership changes, leadership transfers, and a client workload of
// puts, ReadIndex reads and compare-and-swaps. Safety properties are checked after every
// step (checkers.ts); at the end the client history is checked for linearizability and,
// after the faults stop, the cluster must converge within a bound.

import { prng, type Prng } from "../../src/util/prng.ts";
import { fromUtf8, utf8 } from "../../src/util/bytes.ts";
import {
  MemoryStorage,
  RawNode,
  confChangeOf,
  describeMessage,
  ErrProposalDropped,
  type ConfChange,
  type ConfState,
  type Config,
  type Entry,
  type Logger,
  type NodeId,
  type Ready,
} from "../../src/raft/index.ts";
import { SafetyChecker, SafetyViolation } from "./checkers.ts";
import { CALM, SimNetwork, type Delivery, type NetworkFaults } from "./network.ts";
import {
  checkLinearizable,
  describeFailure,
  registerModel,
  type HistoryOp,
  type RegisterInput,
  type RegisterOutput,
} from "./linearizability.ts";

/** Simulated time units per raft tick. Message delays are a few units. */
const TICK = 10;

export interface SimOptions {
  seed: number;
  /** Fault-phase length in ticks (default 300). */
  ticks?: number;
  members?: 3 | 5;
  membership?: boolean;
  /** Ticks allowed for convergence after faults stop (default 400). */
  livenessTicks?: number;
  /** Receives a line per notable event (and raft's own log when verbose). */
  trace?: (line: string) => void;
  verbose?: boolean;
}

export interface SimStats {
  ticks: number;
  messages: number;
  dropped: number;
  elections: number;
  crashes: number;
  confChanges: number;
  snapshotsSent: number;
  ops: number;
  opsOk: number;
  opsUnknown: number;
  maxCommitted: number;
  checks: number;
  /** Times a leader quiesced the cluster (everyone stops ticking until something wakes it). */
  quiesces: number;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  error?: string;
  scenario: string;
  stats: SimStats;
}

interface Command {
  id: string;
  op: "put" | "cas";
  key: string;
  value: string;
  expected?: string | null;
}

type Outcome = { value?: string | null; ok?: boolean };

interface PendingRead {
  ctx: string;
  key: string;
  index: number; // -1 until the ReadState arrives
  done: (out: Outcome) => void;
}

interface Member {
  id: NodeId;
  /** What survives a crash. */
  storage: MemoryStorage;
  node: RawNode | null;
  incarnation: number;
  // State machine (volatile; rebuilt from the snapshot and the log on restart).
  kv: Map<string, string>;
  seen: Set<string>;
  applied: number;
  confState: ConfState;
  pendingWrites: Map<string, (out: Outcome) => void>;
  pendingReads: PendingRead[];
  pausedUntil: number;
  downUntil: number;
  /** Removed from the configuration and shut down for good. */
  retired: boolean;
  tickPhase: number;
  /** A crash scheduled by the short-lived-leader fault, or Infinity. */
  crashAt: number;
  /** A Ready taken but not yet handled (slow disk): handled at `at`. */
  outstanding: { rd: Ready; at: number } | null;
  lastRole: string;
  lastCommit: number;
}

interface Client {
  id: string;
  seq: number;
  busy: boolean;
  deadline: number;
  /** Timeout action for the operation in flight. */
  onTimeout: (() => void) | null;
  lastSeen: Map<string, string | null>;
}

interface Scenario {
  n: number;
  membership: boolean;
  raft: Omit<Config, "id" | "rng" | "logger">;
  snapshotEvery: number;
  keepTail: number;
  faults: NetworkFaults;
  crashP: number;
  crashMidReadyP: number;
  /** Probability that a new leader crashes within a few time units (partial replication). */
  shortLeaderP: number;
  /** Probability that handling a Ready is delayed (steps and ticks arrive meanwhile). */
  slowDiskP: number;
  ticks: number;
  /** Ticks between membership changes (min, spread); the eager admin ignores pending ones. */
  adminEvery: [number, number];
  eagerAdmin: boolean;
  pauseP: number;
  partitionP: number;
  transferP: number;
  campaignP: number;
  clients: number;
  keys: number;
  opP: number;
  timeoutTicks: number;
}

function chooseScenario(rng: Prng, o: SimOptions): Scenario {
  const electionTicks = rng.pick([6, 8, 10, 12]);
  const heartbeatTicks = rng.pick([1, 1, 2]);
  const stress = rng.float();
  return {
    n: o.members ?? rng.pick([3, 5]),
    membership: o.membership ?? rng.chance(0.4),
    raft: {
      electionTicks,
      heartbeatTicks,
      preVote: rng.chance(0.75),
      checkQuorum: rng.chance(0.75),
      maxSizePerMsgBytes: rng.pick([64, 256, 4096]),
      maxInflightMsgs: rng.pick([1, 2, 4, 64]),
      maxUncommittedEntriesBytes: rng.pick([0, 0, 400, 4096]),
    },
    snapshotEvery: rng.pick([5, 12, 30, 1e9]),
    keepTail: rng.pick([0, 2, 10]),
    faults: {
      dropP: rng.pick([0, 0.01, 0.05, 0.15]),
      duplicateP: rng.pick([0, 0.02, 0.1]),
      longDelayP: rng.pick([0, 0.02, 0.1]),
      delayMin: 1,
      delayMax: rng.pick([3, 6, 12]),
      longDelayMax: rng.pick([30, 80, 200]),
      snapshotFailP: rng.pick([0, 0.2, 0.5]),
      appendDropP: rng.pick([0, 0, 0.2, 0.5]),
    },
    crashP: stress * rng.pick([0, 0.005, 0.02, 0.05]),
    crashMidReadyP: rng.pick([0, 0.0005, 0.002]),
    shortLeaderP: rng.pick([0, 0, 0.1, 0.3]),
    slowDiskP: rng.pick([0, 0, 0.05, 0.2]),
    ticks: o.ticks ?? rng.pick([200, 300, 500]),
    adminEvery: rng.pick([[20, 60], [3, 12]] as [number, number][]),
    eagerAdmin: rng.chance(0.5),
    pauseP: stress * rng.pick([0, 0.005, 0.02]),
    partitionP: stress * rng.pick([0, 0.01, 0.03]),
    transferP: rng.pick([0, 0.003, 0.01]),
    campaignP: rng.pick([0, 0.001, 0.004]),
    clients: 2 + rng.int(4),
    keys: 1 + rng.int(4),
    opP: rng.pick([0.05, 0.15, 0.4]),
    timeoutTicks: rng.pick([20, 40, 80]),
  };
}

function describeScenario(s: Scenario): string {
  const r = s.raft;
  return [
    `n=${s.n}${s.membership ? "+membership" : ""}`,
    `election=${r.electionTicks} heartbeat=${r.heartbeatTicks}`,
    `prevote=${r.preVote} checkquorum=${r.checkQuorum}`,
    `msg=${r.maxSizePerMsgBytes}B inflight=${r.maxInflightMsgs} uncommitted=${r.maxUncommittedEntriesBytes}B`,
    `snapshot-every=${s.snapshotEvery} tail=${s.keepTail}`,
    `drop=${s.faults.dropP} append-drop=${s.faults.appendDropP} dup=${s.faults.duplicateP} long-delay=${s.faults.longDelayP} snap-fail=${s.faults.snapshotFailP}`,
    `ticks=${s.ticks} crash=${s.crashP.toFixed(4)} short-leader=${s.shortLeaderP} slow-disk=${s.slowDiskP} pause=${s.pauseP.toFixed(4)} partition=${s.partitionP.toFixed(4)}`,
    `clients=${s.clients} keys=${s.keys}`,
  ].join(" ");
}

class LivenessFailure extends Error {}

export function runSimulation(o: SimOptions): SimResult {
  const sim = new Simulation(o);
  return sim.run();
}

class Simulation {
  readonly o: SimOptions;
  readonly rng: Prng;
  readonly s: Scenario;
  readonly net: SimNetwork;
  readonly checker = new SafetyChecker();
  readonly members = new Map<NodeId, Member>();
  readonly clients: Client[] = [];
  readonly history: HistoryOp<RegisterInput, RegisterOutput>[] = [];
  now = 0;
  /** Strictly increasing clock for history events (invocation and response order). */
  #histClock = 0;
  #nextMemberNo: number;
  #opNo = 0;
  faultsOn = true;
  readonly stats: SimStats = {
    ticks: 0, messages: 0, dropped: 0, elections: 0, crashes: 0, confChanges: 0, snapshotsSent: 0,
    ops: 0, opsOk: 0, opsUnknown: 0, maxCommitted: 0, checks: 0, quiesces: 0,
  };
  /**
   * Quiescence draws from its own stream, so the rest of a seed's scenario is the same with
   * it: at each tick the leader tries to quiesce with probability quiesceP.
   */
  readonly #quiesceRng: Prng;
  readonly #quiesceP: number;
  readonly #trace: (line: string) => void;
  readonly #raftLogger: Logger | undefined;
  /** Next time the admin may try a membership change. */
  #adminAt = 0;

  constructor(o: SimOptions) {
    this.o = o;
    this.rng = prng(o.seed);
    this.s = chooseScenario(this.rng.fork(), o);
    this.net = new SimNetwork(this.rng.fork());
    this.#quiesceRng = prng(`${o.seed}/quiesce`);
    this.#quiesceP = this.#quiesceRng.pick([0, 0.05, 0.3]);
    this.#trace = o.trace ?? (() => {});
    this.#raftLogger = o.verbose ? { log: (level, msg) => this.#trace(`  [${level}] ${msg}`) } : undefined;
    const voters: NodeId[] = [];
    for (let i = 1; i <= this.s.n; i++) voters.push(`m${i}`);
    this.#nextMemberNo = this.s.n + 1;
    for (const id of voters) {
      const storage = new MemoryStorage();
      const cs: ConfState = { voters: voters.slice(), learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
      // Bootstrap: every initial member starts from the same snapshot holding the config.
      storage.applySnapshot({ metadata: { index: 1, term: 1, confState: cs }, data: encodeState(new Map(), new Set()) });
      storage.setHardState({ term: 1, vote: "", commit: 1 });
      this.#addMember(id, storage);
    }
    for (let i = 0; i < this.s.clients; i++) {
      this.clients.push({ id: `c${i + 1}`, seq: 0, busy: false, deadline: 0, onTimeout: null, lastSeen: new Map() });
    }
    this.#adminAt = 30 * TICK;
  }

  trace(line: string): void {
    this.#trace(`${String(this.now).padStart(6)} ${line}`);
  }

  run(): SimResult {
    const scenario = describeScenario(this.s);
    this.trace(`scenario: ${scenario}`);
    const ticks = this.s.ticks;
    try {
      this.net.faults = this.s.faults;
      const faultEnd = ticks * TICK;
      for (; this.now < faultEnd; this.now++) this.#step(true);
      this.#heal();
      this.#converge((this.o.livenessTicks ?? 400) * TICK);
      this.#checkHistory();
      return { seed: this.o.seed, ok: true, scenario, stats: this.#finalStats() };
    } catch (err) {
      const kind = err instanceof SafetyViolation ? "safety" : err instanceof LivenessFailure ? "liveness" : "crash";
      const msg = err instanceof Error ? `${kind}: ${err.message}${kind === "crash" ? `\n${err.stack}` : ""}` : String(err);
      return { seed: this.o.seed, ok: false, error: msg, scenario, stats: this.#finalStats() };
    }
  }

  #finalStats(): SimStats {
    this.stats.messages = this.net.sent;
    this.stats.dropped = this.net.dropped;
    this.stats.maxCommitted = this.checker.maxCommitted;
    this.stats.checks = this.checker.checks;
    return this.stats;
  }

  // ---------------------------------------------------------------------------------------
  // Members

  #addMember(id: NodeId, storage: MemoryStorage): Member {
    const m: Member = {
      id, storage, node: null, incarnation: 0, kv: new Map(), seen: new Set(), applied: 0,
      confState: storage.initialState().confState, pendingWrites: new Map(), pendingReads: [],
      pausedUntil: 0, downUntil: 0, retired: false, tickPhase: this.rng.int(TICK), crashAt: Infinity, outstanding: null, lastRole: "", lastCommit: 0,
    };
    this.members.set(id, m);
    this.#start(m);
    return m;
  }

  /** Boots (or reboots) a member from its storage: state machine from the snapshot, then
   * raft replays the committed log above it. */
  #start(m: Member): void {
    const snap = m.storage.snapshot();
    const st = decodeState(snap.data);
    m.kv = st.kv;
    m.seen = st.seen;
    m.applied = snap.metadata.index;
    m.confState = snap.metadata.confState;
    m.incarnation++;
    m.node = new RawNode(
      { id: m.id, rng: prng(`${this.o.seed}/${m.id}/${m.incarnation}`), logger: this.#raftLogger, applied: m.applied, ...this.s.raft },
      m.storage,
    );
    m.lastRole = "Follower";
    m.lastCommit = m.storage.hardState().commit;
    this.trace(`${m.id} started (incarnation ${m.incarnation}) applied=${m.applied} commit=${m.lastCommit} last=${m.storage.lastIndex()}`);
  }

  #crash(m: Member, why: string): void {
    if (!m.node) return;
    this.stats.crashes++;
    m.node = null;
    m.pendingWrites.clear();
    m.pendingReads = [];
    m.outstanding = null; // a Ready not yet written is lost
    m.downUntil = this.now + TICK * (1 + this.rng.int(60));
    this.trace(`${m.id} CRASHED (${why}); down until ${m.downUntil}`);
  }

  /** Handles every Ready of m, in the order the Ready contract prescribes. */
  #drain(m: Member): void {
    while (m.node && !m.outstanding && m.node.hasReady()) {
      const rd = m.node.ready();
      if (this.faultsOn && this.rng.chance(this.s.slowDiskP)) {
        // A slow write: the Ready is handled later; the node keeps taking input meanwhile.
        m.outstanding = { rd, at: this.now + 1 + this.rng.int(2 * TICK) };
        break;
      }
      this.#handleReady(m, rd);
    }
    if (m.node) this.#observe(m);
  }

  #handleReady(m: Member, rd: Ready): void {
    const node = m.node!;
    if (this.o.verbose) {
      this.trace(`  ${m.id} ready: entries=[${rd.entries.map((e) => e.index).join(",")}] snapshot=${rd.snapshot?.metadata.index ?? "-"} committed=[${rd.committedEntries.map((e) => e.index).join(",")}] hs=${rd.hardState ? `${rd.hardState.term}/${rd.hardState.vote}/${rd.hardState.commit}` : "-"}`);
    }
    // 1. Persist (atomically).
    if (rd.snapshot) m.storage.applySnapshot(rd.snapshot);
    m.storage.append(rd.entries);
    if (rd.hardState) m.storage.setHardState(rd.hardState);
    this.checker.onPersist(m.id, rd.entries, (i) => m.storage.lastIndex() >= i && i >= m.storage.firstIndex() - 1 ? m.storage.term(i) : null);
    if (rd.snapshot) this.checker.onSnapshot(m.id, rd.snapshot);
    this.#observeCommit(m, rd);
    if (this.faultsOn && this.rng.chance(this.s.crashMidReadyP)) {
      // Crash after the write, before anything was sent or applied.
      this.#crash(m, "after persisting a Ready");
      return;
    }
    // 2. Send.
    for (const msg of rd.messages) this.#send(m, msg);
    // 3. Apply.
    if (rd.snapshot) this.#applySnapshot(m, rd);
    for (const e of rd.committedEntries) {
      this.#apply(m, e);
      if (!m.node) return; // it applied its own removal and shut down
    }
    // 4. Reads.
    for (const rs of rd.readStates) {
      const ctx = fromUtf8(rs.requestCtx);
      const r = m.pendingReads.find((p) => p.ctx === ctx);
      if (r && r.index < 0) r.index = rs.index;
    }
    // 5. Advance.
    node.advance(rd);
    this.#serveReads(m);
    this.#maybeSnapshot(m);
  }

  #observe(m: Member): void {
    const r = m.node!.raft;
    if (r.state === "Leader") {
      this.checker.onLeader(m.id, r.term);
      if (m.lastRole !== "Leader") {
        this.stats.elections++;
        this.trace(`${m.id} became LEADER of term ${r.term} (last index ${r.raftLog.lastIndex()})`);
        this.checker.onNewLeader(m.id, r.term, r.raftLog);
        if (this.faultsOn && this.rng.chance(this.s.shortLeaderP)) m.crashAt = this.now + this.rng.int(2 * TICK);
      }
    }
    m.lastRole = r.state;
  }

  /** The member durably knows a new commit index: record the entries it commits. */
  #observeCommit(m: Member, rd: Ready): void {
    const commit = rd.hardState?.commit ?? m.lastCommit;
    if (commit <= m.lastCommit) return;
    const term = rd.hardState?.term ?? m.node!.raft.term;
    const lo = Math.max(m.lastCommit + 1, m.storage.firstIndex());
    if (lo <= commit) {
      if (commit > m.storage.lastIndex()) throw new SafetyViolation(`${m.id} persisted commit ${commit} beyond its last index ${m.storage.lastIndex()}`);
      for (const e of m.storage.entries(lo, commit + 1, Number.MAX_SAFE_INTEGER)) this.checker.onCommitted(m.id, term, e);
    }
    m.lastCommit = commit;
  }

  #applySnapshot(m: Member, rd: Ready): void {
    const snap = rd.snapshot!;
    const st = decodeState(snap.data);
    m.kv = st.kv;
    m.seen = st.seen;
    m.applied = snap.metadata.index;
    m.confState = snap.metadata.confState;
    this.stats.snapshotsSent++;
    this.trace(`${m.id} installed snapshot ${snap.metadata.index}/${snap.metadata.term}`);
  }

  #apply(m: Member, e: Entry): void {
    if (e.index !== m.applied + 1) throw new SafetyViolation(`${m.id} applied index ${e.index} after ${m.applied} (out of order)`);
    this.checker.onApply(m.id, e);
    m.applied = e.index;
    if (e.type === "ConfChange") {
      const cc = this.#validateConfChange(m.confState, confChangeOf(e));
      const before = m.confState;
      try {
        m.confState = m.node!.applyConfChange(cc);
      } catch (err) {
        throw new Error(`${m.id} cannot apply conf change at ${e.index} (${describeConf(before)}): ${(err as Error).message}`);
      }
      this.trace(`${m.id} applied conf change at ${e.index}: ${describeConf(m.confState)}`);
      this.#retireRemoved(before, m.confState);
      return;
    }
    if (e.data.length === 0) return;
    const cmd = JSON.parse(fromUtf8(e.data)) as Command;
    let out: Outcome;
    if (m.seen.has(cmd.id)) {
      // A duplicated proposal (the network may duplicate a forwarded MsgProp): the state
      // machine executes each request once.
      return;
    }
    m.seen.add(cmd.id);
    if (cmd.op === "put") {
      m.kv.set(cmd.key, cmd.value);
      out = {};
    } else {
      const cur = m.kv.get(cmd.key) ?? null;
      const ok = cur === (cmd.expected ?? null);
      if (ok) m.kv.set(cmd.key, cmd.value);
      out = { ok };
    }
    const done = m.pendingWrites.get(cmd.id);
    if (done) {
      m.pendingWrites.delete(cmd.id);
      done(out);
    }
  }

  /** Application-level validation of a committed conf change against the applied config
   * (deterministic, so every member decides alike): refused changes are blanked. */
  #validateConfChange(cs: ConfState, cc: ConfChange): ConfChange {
    if (cc.changes.length === 0) return cc;
    const voters = new Set(cs.voters);
    for (const c of cc.changes) {
      if (c.type === "RemoveNode") voters.delete(c.nodeId);
      if (c.type === "AddNode") voters.add(c.nodeId);
      if (c.type === "AddLearnerNode") voters.delete(c.nodeId);
    }
    if (voters.size === 0) return { ...cc, changes: cc.changes.map((c) => ({ ...c, nodeId: "" })) };
    return cc;
  }

  /** A member removed by a committed conf change is shut down for good (as a real member
   * stops once it learns it was removed). Ids are never reused, so the first member to apply
   * the removal decides. */
  #retireRemoved(before: ConfState, after: ConfState): void {
    const ids = (cs: ConfState): Set<NodeId> => new Set([...cs.voters, ...cs.learners, ...cs.votersOutgoing, ...cs.learnersNext]);
    const now = ids(after);
    for (const id of ids(before)) {
      if (now.has(id)) continue;
      const other = this.members.get(id);
      if (!other || other.retired) continue;
      other.retired = true;
      other.node = null;
      this.trace(`${other.id} retired (removed from the configuration)`);
    }
  }

  #serveReads(m: Member): void {
    if (m.pendingReads.length === 0) return;
    const keep: PendingRead[] = [];
    for (const r of m.pendingReads) {
      if (r.index >= 0 && m.applied >= r.index) r.done({ value: m.kv.get(r.key) ?? null });
      else keep.push(r);
    }
    m.pendingReads = keep;
  }

  #maybeSnapshot(m: Member): void {
    const snapIndex = m.storage.snapshot().metadata.index;
    if (m.applied - snapIndex < this.s.snapshotEvery) return;
    m.storage.createSnapshot(m.applied, m.confState, encodeState(m.kv, m.seen));
    const compactTo = m.applied - this.s.keepTail;
    if (compactTo > m.storage.firstIndex() - 1) m.storage.compact(compactTo);
  }

  #send(from: Member, msg: Ready["messages"][number]): void {
    if (msg.type === "MsgSnap") {
      // Like etcd's merged snapshot: the member ships its current applied state (which, with
      // apply-time conf changes, includes the recipient) instead of the older stored one.
      const t = from.node!.raft.raftLog.term(from.applied);
      if (t !== null && from.applied >= msg.snapshot!.metadata.index) {
        msg = {
          ...msg,
          snapshot: { metadata: { index: from.applied, term: t, confState: from.confState }, data: encodeState(from.kv, from.seen) },
        };
      }
    }
    if (this.o.verbose) this.trace(`  send ${describeMessage(msg)}`);
    const ok = this.net.send(this.now, from.id, msg);
    if (!ok && from.node && msg.type === "MsgSnap") {
      // The transport knows a snapshot transfer failed and must say so.
      from.node.reportSnapshot(msg.to, "failure");
    } else if (!ok && from.node && this.rng.chance(0.3)) {
      from.node.reportUnreachable(msg.to);
    }
  }

  #deliver(d: Delivery): void {
    const to = this.members.get(d.msg.to);
    const from = this.members.get(d.sender);
    if (d.msg.type === "MsgSnap") {
      // The sender's transport reports the outcome of the transfer.
      const ok = d.snapshotOk && !!to && !!to.node && !to.retired && !this.net.isBlocked(d.sender, d.msg.to);
      if (from && from.node) {
        from.node.reportSnapshot(d.msg.to, ok ? "finish" : "failure");
        this.#drain(from);
      }
      if (!ok) return;
    }
    if (!to || !to.node || to.retired) return;
    if (to.pausedUntil > this.now) {
      this.net.defer(d, to.pausedUntil + this.rng.int(TICK));
      return;
    }
    if (this.net.isBlocked(d.sender, d.msg.to)) return; // partitioned while in flight
    if (this.o.verbose) this.trace(`  recv ${describeMessage(d.msg)}`);
    to.node.step(d.msg);
    this.#drain(to);
  }

  // ---------------------------------------------------------------------------------------
  // The main loop

  #step(faults: boolean): void {
    for (let d = this.net.next(this.now); d; d = this.net.next(this.now)) this.#deliver(d);
    for (const m of this.members.values()) {
      if (m.retired) continue;
      if (!m.node) {
        if (m.downUntil <= this.now && (!faults || this.rng.chance(0.5))) {
          this.#start(m);
          this.#drain(m);
        }
        continue;
      }
      if (m.crashAt <= this.now) {
        m.crashAt = Infinity;
        if (faults) {
          this.#crash(m, "short-lived leader");
          continue;
        }
      }
      if (m.outstanding && m.outstanding.at <= this.now) {
        const { rd } = m.outstanding;
        m.outstanding = null;
        this.#handleReady(m, rd);
        if (m.node) this.#drain(m);
        if (!m.node) continue;
      }
      if (m.pausedUntil > this.now) continue;
      if (this.now % TICK === m.tickPhase) {
        m.node.tick();
        this.#drain(m);
      }
    }
    if (this.now % TICK === 0) {
      this.stats.ticks++;
      this.#maybeQuiesce();
      if (faults) this.#injectFaults();
      if (this.s.membership) this.#admin(faults);
    }
    this.#clients(faults);
  }

  /** The leader quiesces when it may (the member does once the cluster is idle). */
  #maybeQuiesce(): void {
    if (!this.#quiesceRng.chance(this.#quiesceP)) return;
    const lead = this.#leader();
    if (!lead || lead.pausedUntil > this.now || !lead.node!.quiesce()) return;
    this.stats.quiesces++;
    this.trace(`${lead.id} QUIESCED the cluster at index ${lead.node!.raft.raftLog.lastIndex()}`);
    this.#drain(lead);
  }

  #injectFaults(): void {
    const s = this.s;
    const rng = this.rng;
    const alive = [...this.members.values()].filter((m) => !m.retired);
    if (rng.chance(s.crashP)) {
      // Leaders are where the interesting histories start: aim at them half the time.
      const lead = this.#leader();
      const m = lead && rng.chance(0.5) ? lead : rng.pick(alive);
      if (m.node) this.#crash(m, m === lead ? "injected, leader" : "injected");
    }
    if (rng.chance(s.pauseP)) {
      const m = rng.pick(alive);
      if (m.node && m.pausedUntil <= this.now) {
        m.pausedUntil = this.now + TICK * (1 + rng.int(40));
        this.trace(`${m.id} PAUSED until ${m.pausedUntil}`);
      }
    }
    if (rng.chance(s.partitionP)) this.#repartition(alive.map((m) => m.id));
    if (rng.chance(s.transferP)) {
      const lead = this.#leader();
      if (lead) {
        const target = rng.pick(lead.node!.raft.trk.voterNodes());
        this.trace(`transfer leadership ${lead.id} -> ${target}`);
        lead.node!.transferLeader(target);
        this.#drain(lead);
      }
    }
    if (rng.chance(s.campaignP)) {
      const m = rng.pick(alive);
      if (m.node && m.pausedUntil <= this.now) {
        this.trace(`${m.id} forced to campaign`);
        m.node.campaign();
        this.#drain(m);
      }
    }
  }

  #repartition(ids: NodeId[]): void {
    const rng = this.rng;
    const blocked = new Set<string>();
    const mode = rng.int(5);
    const block = (a: NodeId, b: NodeId): void => void blocked.add(`${a}->${b}`);
    let what = "healed";
    if (mode === 1) {
      const lead = this.#leader();
      const x = lead && rng.chance(0.5) ? lead.id : rng.pick(ids);
      for (const y of ids) if (y !== x) (block(x, y), block(y, x));
      what = `isolated ${x}`;
    } else if (mode === 2) {
      const side = new Set(ids.filter(() => rng.chance(0.5)));
      for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) block(a, b);
      what = `split {${[...side].join(",")}} | rest`;
    } else if (mode === 3) {
      // Asymmetric: some directed links fail.
      const links: string[] = [];
      for (const a of ids) for (const b of ids) if (a !== b && rng.chance(0.3)) (block(a, b), links.push(`${a}->${b}`));
      what = `asymmetric ${links.join(" ")}`;
    } else if (mode === 4) {
      // One member can send but not receive (or the reverse).
      const x = rng.pick(ids);
      const inbound = rng.chance(0.5);
      for (const y of ids) if (y !== x) (inbound ? block(y, x) : block(x, y));
      what = `${x} ${inbound ? "deaf" : "mute"}`;
    }
    this.net.blocked = blocked;
    this.trace(`PARTITION: ${what}`);
  }

  #leader(): Member | null {
    let best: Member | null = null;
    for (const m of this.members.values()) {
      if (!m.node || m.retired || m.node.raft.state !== "Leader") continue;
      if (!best || m.node.raft.term > best.node!.raft.term) best = m;
    }
    return best;
  }

  /** Membership changes: add learners, promote them, remove voters, replace voters through a
   * joint configuration. Proposed at the leader; the outcome is whatever commits. */
  #admin(faults: boolean): void {
    if (!faults || this.now < this.#adminAt) return;
    const lead = this.#leader();
    if (!lead) return;
    const r = lead.node!.raft;
    const eager = this.s.eagerAdmin && this.rng.chance(0.5);
    if (!eager && (r.pendingConfIndex > r.raftLog.applied || r.trk.isJoint())) return;
    this.#adminAt = this.now + TICK * (this.s.adminEvery[0] + this.rng.int(this.s.adminEvery[1]));
    const cs = r.trk.confState();
    const voters = cs.voters;
    const learners = cs.learners;
    const rng = this.rng;
    const spare = this.#nextMemberNo <= this.s.n + 4;
    const choices: (() => ConfChange | null)[] = [];
    if (spare && learners.length === 0) choices.push(() => this.#newMemberChange("AddLearnerNode"));
    if (learners.length > 0) choices.push(() => cc([{ type: "AddNode", nodeId: rng.pick(learners) }]));
    if (voters.length > 3) choices.push(() => cc([{ type: "RemoveNode", nodeId: rng.pick(voters) }]));
    if (spare && voters.length < 5) choices.push(() => this.#newMemberChange("AddNode"));
    if (spare) {
      choices.push(() => {
        const add = this.#newMemberChange("AddNode");
        const victim = rng.pick(voters);
        return { transition: rng.pick(["Auto", "Implicit"] as const), changes: [...add.changes, { type: "RemoveNode", nodeId: victim }], context: new Uint8Array(0) };
      });
    }
    if (learners.length > 0) choices.push(() => cc([{ type: "RemoveNode", nodeId: rng.pick(learners) }]));
    if (choices.length === 0) return;
    const change = rng.pick(choices)();
    if (!change) return;
    this.stats.confChanges++;
    this.trace(`admin proposes ${change.transition} ${change.changes.map((c) => `${c.type}(${c.nodeId})`).join(" ")} at ${lead.id}`);
    const err = lead.node!.proposeConfChange(change);
    if (err) this.trace(`admin proposal dropped: ${err.message}`);
    this.#drain(lead);
  }

  #newMemberChange(type: "AddNode" | "AddLearnerNode"): ConfChange {
    const id = `m${this.#nextMemberNo++}`;
    // A joining member starts empty; the leader catches it up (by snapshot once the probe
    // finds the log compacted).
    this.#addMember(id, new MemoryStorage());
    return cc([{ type, nodeId: id }]);
  }

  // ---------------------------------------------------------------------------------------
  // Clients

  #clients(faults: boolean): void {
    for (const c of this.clients) {
      if (c.busy) {
        if (this.now >= c.deadline) {
          c.onTimeout?.();
          c.busy = false;
          c.onTimeout = null;
        }
        continue;
      }
      // Once faults stop, no new operations: the ones in flight finish or time out.
      if (!faults) continue;
      if (!this.rng.chance(this.s.opP / TICK)) continue;
      this.#issue(c);
    }
  }

  #issue(c: Client): void {
    const rng = this.rng;
    const candidates = [...this.members.values()].filter((m) => !m.retired);
    const m = rng.pick(candidates);
    const key = `k${rng.int(this.s.keys)}`;
    const kind = rng.pick(["put", "put", "get", "get", "cas"] as const);
    if (!m.node) return; // connection refused: nothing happened
    c.seq++;
    const reqId = `${c.id}.${c.seq}`;
    const value = `${c.id}.${c.seq}`;
    const invoke = ++this.#histClock;
    const record = (input: RegisterInput, output: RegisterOutput | null, op: string): void => {
      this.history.push({
        clientId: c.id, key, op, input, output,
        invokeTime: invoke, returnTime: output === null ? Infinity : ++this.#histClock,
      });
    };
    c.busy = true;
    c.deadline = this.now + this.s.timeoutTicks * TICK;
    this.stats.ops++;
    if (kind === "get") {
      const ctx = `r.${reqId}.${++this.#opNo}`;
      const read: PendingRead = {
        ctx, key, index: -1,
        done: (out) => {
          if (!c.busy || c.onTimeout !== timeout) return;
          record({}, { value: out.value ?? null }, "get");
          c.lastSeen.set(key, out.value ?? null);
          this.stats.opsOk++;
          c.busy = false;
          c.onTimeout = null;
        },
      };
      const timeout = (): void => {
        // A read that never answered has no effect: leave it out of the history.
        m.pendingReads = m.pendingReads.filter((p) => p !== read);
      };
      c.onTimeout = timeout;
      m.pendingReads.push(read);
      m.node.readIndex(utf8(ctx));
      this.#drain(m);
      return;
    }
    const expected = kind === "cas" ? (c.lastSeen.get(key) ?? null) : undefined;
    const cmd: Command = kind === "cas" ? { id: reqId, op: "cas", key, value, expected } : { id: reqId, op: "put", key, value };
    const input: RegisterInput = kind === "cas" ? { value, expected } : { value };
    const timeout = (): void => {
      m.pendingWrites.delete(reqId);
      record(input, null, kind);
      this.stats.opsUnknown++;
    };
    c.onTimeout = timeout;
    m.pendingWrites.set(reqId, (out) => {
      if (!c.busy || c.onTimeout !== timeout) return;
      record(input, kind === "cas" ? { ok: !!out.ok } : {}, kind);
      if (kind === "cas" && out.ok) c.lastSeen.set(key, value);
      this.stats.opsOk++;
      c.busy = false;
      c.onTimeout = null;
    });
    const err = m.node.propose(utf8(JSON.stringify(cmd)));
    if (err === ErrProposalDropped) {
      // Definitely not in the log: the client sees an error and nothing happened.
      m.pendingWrites.delete(reqId);
      c.busy = false;
      c.onTimeout = null;
    }
    this.#drain(m);
  }

  // ---------------------------------------------------------------------------------------
  // End of the fault phase: heal, converge, check

  #heal(): void {
    this.faultsOn = false;
    this.net.faults = CALM;
    this.net.blocked = new Set();
    for (const m of this.members.values()) {
      m.pausedUntil = 0;
      m.downUntil = 0;
      if (m.outstanding) m.outstanding.at = this.now;
    }
    this.trace("HEAL: faults stop; the cluster must converge");
  }

  #converge(budget: number): void {
    const end = this.now + budget;
    let sentinel: { id: string; done: boolean } | null = null;
    for (; this.now < end; this.now++) {
      this.#step(false);
      const lead = this.#leader();
      if (!lead) {
        // Nobody leads and everyone may be quiesced: a client's request wakes a member, as
        // any request does (a read at a member without a leader is dropped, but wakes it).
        if (this.#quiesceP > 0 && this.now % TICK === 0) {
          const up = [...this.members.values()].filter((m) => m.node && !m.retired);
          if (up.length > 0) {
            const m = this.#quiesceRng.pick(up);
            m.node!.readIndex(utf8(`wake.${this.now}`));
            this.#drain(m);
          }
        }
        continue;
      }
      if (!sentinel && this.now % TICK === 0) {
        const id = `sentinel.${this.now}`;
        lead.pendingWrites.set(id, () => {
          if (sentinel && sentinel.id === id) sentinel.done = true;
        });
        const err = lead.node!.propose(utf8(JSON.stringify({ id, op: "put", key: "sentinel", value: id })));
        if (!err) sentinel = { id, done: false };
        this.#drain(lead);
      }
      if (sentinel && !sentinel.done && !lead.pendingWrites.has(sentinel.id)) sentinel = null; // leader changed; retry
      if (!sentinel?.done) continue;
      if (this.clients.some((c) => c.busy)) continue;
      const r = lead.node!.raft;
      const cs = r.trk.confState();
      if (cs.votersOutgoing.length > 0) continue;
      const members = [...cs.voters, ...cs.learners];
      const target = r.raftLog.committed;
      if (r.raftLog.lastIndex() !== target) continue;
      if (members.every((id) => {
        const m = this.members.get(id);
        return m && m.node && m.applied === target;
      })) {
        this.#checkConverged(members);
        this.trace(`converged at index ${target} with leader ${lead.id} (term ${r.term})`);
        return;
      }
    }
    const lead = this.#leader();
    const states = [...this.members.values()].map((m) =>
      `${m.id}:${m.retired ? "retired" : m.node ? `${m.node.raft.state}/t${m.node.raft.term}/c${m.node.raft.raftLog.committed}/a${m.applied}/l${m.node.raft.raftLog.lastIndex()}` : "down"}`,
    );
    throw new LivenessFailure(`no convergence within ${budget / TICK} ticks after faults stopped (leader ${lead?.id ?? "none"}; ${states.join(" ")})`);
  }

  /** All members of the final configuration hold the same state machine. */
  #checkConverged(ids: NodeId[]): void {
    let ref: string | null = null;
    for (const id of ids) {
      const m = this.members.get(id)!;
      const s = JSON.stringify([...m.kv.entries()].sort());
      if (ref === null) ref = s;
      else if (s !== ref) throw new SafetyViolation(`state machines differ after convergence (${ids[0]} vs ${id})`);
    }
  }

  #checkHistory(): void {
    const r = checkLinearizable(registerModel, this.history);
    if (!r.ok) throw new SafetyViolation(`linearizability: ${describeFailure(registerModel, r)}`);
    this.trace(`history of ${this.history.length} operations is linearizable`);
  }
}

function cc(changes: ConfChange["changes"]): ConfChange {
  return { transition: "Auto", changes, context: new Uint8Array(0) };
}

function describeConf(cs: ConfState): string {
  let s = `voters=(${cs.voters.join(" ")})`;
  if (cs.votersOutgoing.length) s += `&&(${cs.votersOutgoing.join(" ")})`;
  if (cs.learners.length) s += ` learners=(${cs.learners.join(" ")})`;
  if (cs.learnersNext.length) s += ` learners_next=(${cs.learnersNext.join(" ")})`;
  return s;
}

function encodeState(kv: Map<string, string>, seen: Set<string>): Uint8Array {
  return utf8(JSON.stringify({ kv: [...kv.entries()], seen: [...seen] }));
}

function decodeState(data: Uint8Array): { kv: Map<string, string>; seen: Set<string> } {
  if (data.length === 0) return { kv: new Map(), seen: new Set() };
  const o = JSON.parse(fromUtf8(data)) as { kv: [string, string][]; seen: string[] };
  return { kv: new Map(o.kv), seen: new Set(o.seen) };
}
