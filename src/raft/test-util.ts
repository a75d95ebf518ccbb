// Test support (used by the unit tests and the scenario-script runner): an in-process
// network of RawNodes over MemoryStorage that handles Ready exactly as the Ready contract
// says (persist, send, apply, advance) and delivers messages on demand.

import { prng } from "../util/prng.ts";
import { confChangeOf, RawNode, type Ready } from "./raw-node.ts";
import { MemoryStorage } from "./storage.ts";
import type { Config } from "./raft.ts";
import type { Logger } from "./logger.ts";
import type { ConfState, Entry, Message, MessageType, NodeId, ReadState } from "./types.ts";

export interface TestNode {
  id: NodeId;
  node: RawNode;
  storage: MemoryStorage;
  /** Entries applied, in order. */
  applied: Entry[];
  readStates: ReadState[];
  confState: ConfState;
}

export type NodeOptions = Partial<Omit<Config, "id" | "rng">>;

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages sent and not yet delivered, in send order. */
  queue: Message[] = [];
  /** Links that drop everything: "from->to". */
  readonly cut = new Set<string>();
  /** Message types dropped everywhere. */
  readonly ignored = new Set<MessageType>();
  /** Every message handed to send(), in order (before cuts and drops). */
  readonly sent: Message[] = [];
  readonly #seed: number;
  logger: Logger | undefined;

  constructor(seed = 1) {
    this.#seed = seed;
  }

  /** Adds nodes bootstrapped with the given voters (and learners), all at log index 0
   * except for a shared snapshot at `index` if index > 0. */
  add(ids: NodeId[], voters: NodeId[], opts: NodeOptions = {}, learners: NodeId[] = [], index = 0): void {
    for (const id of ids) {
      const storage = new MemoryStorage();
      const cs: ConfState = { voters: voters.slice(), learners: learners.slice(), votersOutgoing: [], learnersNext: [], autoLeave: false };
      if (index > 0) {
        storage.applySnapshot({ metadata: { index, term: 1, confState: cs }, data: new Uint8Array(0) });
        storage.setHardState({ term: 1, vote: "", commit: index });
      } else if (voters.length > 0 || learners.length > 0) {
        storage.applySnapshot({ metadata: { index: 1, term: 1, confState: cs }, data: new Uint8Array(0) });
        storage.setHardState({ term: 1, vote: "", commit: 1 });
      }
      this.addWithStorage(id, storage, opts);
    }
  }

  addWithStorage(id: NodeId, storage: MemoryStorage, opts: NodeOptions = {}, applied?: Entry[]): TestNode {
    const node = new RawNode(
      { id, rng: prng(`${this.#seed}/${id}/${this.nodes.get(id)?.applied.length ?? 0}`), logger: this.logger, ...opts },
      storage,
    );
    const tn: TestNode = {
      id,
      node,
      storage,
      applied: applied ?? [],
      readStates: [],
      confState: storage.initialState().confState,
    };
    this.nodes.set(id, tn);
    return tn;
  }

  get(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Handles one Ready of node id (if any); returns it. */
  processReady(id: NodeId): Ready | null {
    const tn = this.get(id);
    if (!tn.node.hasReady()) return null;
    const rd = tn.node.ready();
    if (rd.snapshot) tn.storage.applySnapshot(rd.snapshot);
    tn.storage.append(rd.entries);
    if (rd.hardState) tn.storage.setHardState(rd.hardState);
    for (const m of rd.messages) this.send(m.type === "MsgSnap" ? this.#mergedSnapshot(tn, m) : m);
    if (rd.snapshot) tn.confState = rd.snapshot.metadata.confState;
    for (const e of rd.committedEntries) {
      if (e.type === "ConfChange") tn.confState = tn.node.applyConfChange(confChangeOf(e));
      tn.applied.push(e);
    }
    tn.readStates.push(...rd.readStates);
    tn.node.advance(rd);
    return rd;
  }

  /** As a member does: ship the current applied state (with the current configuration,
   * which includes the recipient) rather than the older stored snapshot. */
  #mergedSnapshot(tn: TestNode, m: Message): Message {
    const applied = tn.node.raft.raftLog.applied;
    const term = tn.node.raft.raftLog.term(applied);
    const stored = tn.storage.snapshot();
    if (term === null || applied <= stored.metadata.index) return m;
    return { ...m, snapshot: { metadata: { index: applied, term, confState: tn.confState }, data: stored.data } };
  }

  send(m: Message): void {
    this.sent.push(m);
    if (this.ignored.has(m.type)) return;
    if (this.cut.has(`${m.from}->${m.to}`)) return;
    this.queue.push(m);
  }

  /** Delivers queued messages addressed to id (or all if id is omitted); returns them. */
  deliver(id?: NodeId, filter?: (m: Message) => boolean): Message[] {
    const out: Message[] = [];
    const keep: Message[] = [];
    for (const m of this.queue) {
      if ((id === undefined || m.to === id) && (!filter || filter(m))) out.push(m);
      else keep.push(m);
    }
    this.queue = keep;
    for (const m of out) {
      const tn = this.nodes.get(m.to);
      if (tn) tn.node.step(m);
    }
    return out;
  }

  /** Handles Readies and delivers messages until nothing is left to do. */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      let busy = false;
      for (const id of [...this.nodes.keys()].sort()) {
        while (this.processReady(id)) busy = true;
      }
      if (this.queue.length > 0) {
        this.deliver();
        busy = true;
      }
      if (!busy) return;
    }
    throw new Error("network did not stabilize");
  }

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.get(id).node.tick();
  }

  /** Ticks id until it has passed an election timeout (2 * electionTicks guarantees it). */
  tickElection(id: NodeId): void {
    const r = this.get(id).node.raft;
    for (let i = 0; i < r.electionTimeout * 2; i++) r.tick();
  }

  /** Makes id forget it recently heard from a leader (as if an election timeout passed
   * without one), so that it grants votes again, without making it campaign. */
  expireLease(...ids: NodeId[]): void {
    for (const id of ids) {
      const r = this.get(id).node.raft;
      r.electionElapsed = r.electionTimeout;
    }
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
    this.ignored.clear();
  }

  leader(): NodeId | null {
    let lead: NodeId | null = null;
    for (const tn of this.nodes.values()) if (tn.node.raft.state === "Leader") lead = tn.id;
    return lead;
  }

  /** Applied normal entries with data, as strings. */
  appliedData(id: NodeId): string[] {
    return this.get(id)
      .applied.filter((e) => e.type === "Normal" && e.data.length > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
