// Raft safety properties, checked as the simulation runs (Raft paper, Figure 3):
// - election safety: at most one leader per term;
// - log matching: an (index, term) pair identifies the entry and everything before it;
// - leader completeness: a leader has every entry committed in an earlier term;
// - committed entries never change (every member that commits or applies index i has the
//   same entry there), which with in-order application is state machine safety.
// A violation throws SafetyViolation; the driver reports it with the seed.

import type { Entry, NodeId, Snapshot } from "../../src/raft/index.ts";
import type { RaftLog } from "../../src/raft/log.ts";

export class SafetyViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SafetyViolation";
  }
}

function fail(message: string): never {
  throw new SafetyViolation(message);
}

const entryKey = (e: Entry): string => `${e.type}:${e.data.length}:${dataKey(e.data)}`;

function dataKey(d: Uint8Array): string {
  let s = "";
  for (let i = 0; i < d.length; i++) s += String.fromCharCode(d[i]!);
  return s;
}

interface CommittedRecord {
  term: number;
  key: string;
  /** The term of the member that first saw it committed (an upper bound on the commit term). */
  observedTerm: number;
  by: NodeId;
}

export class SafetyChecker {
  /** term → leader */
  readonly leaders = new Map<number, NodeId>();
  /** "index/term" → [entry key, term of the entry before it] */
  readonly #entries = new Map<string, [string, number]>();
  /** index → the committed entry */
  readonly committed = new Map<number, CommittedRecord>();
  maxCommitted = 0;
  checks = 0;

  /** A member claims leadership of term (called whenever it is observed as leader). */
  onLeader(id: NodeId, term: number): void {
    this.checks++;
    const prev = this.leaders.get(term);
    if (prev === undefined) this.leaders.set(term, id);
    else if (prev !== id) fail(`election safety: ${prev} and ${id} are both leaders of term ${term}`);
  }

  /** Entries just persisted by a member; termAt gives the term of its log at an index. */
  onPersist(id: NodeId, ents: readonly Entry[], termAt: (i: number) => number | null): void {
    for (const e of ents) {
      this.checks++;
      const prevTerm = termAt(e.index - 1);
      if (prevTerm === null) continue; // the entry before is compacted: covered by the snapshot
      const k = `${e.index}/${e.term}`;
      const rec = this.#entries.get(k);
      const ek = entryKey(e);
      if (rec === undefined) {
        this.#entries.set(k, [ek, prevTerm]);
      } else if (rec[0] !== ek || rec[1] !== prevTerm) {
        fail(
          `log matching: ${id} persisted entry ${k} (prev term ${prevTerm}) but another member has a different ${k} (prev term ${rec[1]})`,
        );
      }
    }
  }

  /** Member id (at term) now knows index is committed, with this entry there. */
  onCommitted(id: NodeId, term: number, e: Entry): void {
    this.checks++;
    const rec = this.committed.get(e.index);
    const ek = entryKey(e);
    if (rec === undefined) {
      this.committed.set(e.index, { term: e.term, key: ek, observedTerm: term, by: id });
      if (e.index > this.maxCommitted) this.maxCommitted = e.index;
    } else if (rec.term !== e.term || rec.key !== ek) {
      fail(
        `committed entry changed: index ${e.index} was committed as term ${rec.term} (seen by ${rec.by}) but ${id} committed term ${e.term}`,
      );
    }
  }

  /** Member id installed a snapshot: its (index, term) must agree with what was committed. */
  onSnapshot(id: NodeId, s: Snapshot): void {
    this.checks++;
    const rec = this.committed.get(s.metadata.index);
    if (rec && rec.term !== s.metadata.term) {
      fail(`snapshot mismatch: ${id} installed snapshot ${s.metadata.index}/${s.metadata.term} but that index was committed at term ${rec.term}`);
    }
  }

  /** Member id applies e: it must be the committed entry (state machine safety). */
  onApply(id: NodeId, e: Entry): void {
    this.checks++;
    const rec = this.committed.get(e.index);
    if (rec === undefined) fail(`state machine safety: ${id} applied index ${e.index} which nobody has seen committed`);
    if (rec.term !== e.term || rec.key !== entryKey(e)) {
      fail(`state machine safety: ${id} applied a different entry at index ${e.index} (term ${e.term}) than the committed one (term ${rec.term})`);
    }
  }

  /** A new leader of `term` must hold every entry committed in an earlier term. */
  onNewLeader(id: NodeId, term: number, log: RaftLog): void {
    const first = log.firstIndex();
    const last = log.lastIndex();
    for (let i = first; i <= this.maxCommitted; i++) {
      const rec = this.committed.get(i);
      if (!rec || rec.observedTerm >= term) continue;
      this.checks++;
      if (i > last) fail(`leader completeness: leader ${id} of term ${term} lacks committed index ${i} (last index ${last})`);
      const t = log.term(i);
      if (t !== rec.term) {
        fail(`leader completeness: leader ${id} of term ${term} has term ${t} at committed index ${i}, committed as term ${rec.term}`);
      }
    }
    // Below its first index the leader's log is a snapshot of committed entries.
    const snapTerm = log.term(first - 1);
    const rec = this.committed.get(first - 1);
    if (rec && snapTerm !== null && snapTerm !== rec.term) {
      fail(`leader completeness: leader ${id} snapshot ${first - 1}/${snapTerm} disagrees with committed term ${rec.term}`);
    }
  }
}
