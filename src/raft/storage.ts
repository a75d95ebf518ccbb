// Storage: how the raft core reads the persisted log. The core never writes to it; the
// application writes what each Ready tells it to (entries, hard state, snapshot) and then
// calls advance(). MemoryStorage is the reference implementation and the test double; a
// member implements the same interface over SQLite.
//
// All methods are synchronous. Errors are the sentinel values from errors.ts, thrown:
// ErrCompacted and ErrUnavailable for out-of-range requests (the core checks ranges first,
// so these indicate a bug or a storage that lost data), ErrSnapshotTemporarilyUnavailable
// from snapshot() when none can be produced yet (the core retries later).

import {
  ErrCompacted,
  ErrSnapOutOfDate,
  ErrUnavailable,
  assert,
} from "./errors.ts";
import {
  emptyHardState,
  emptySnapshot,
  limitSize,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
} from "./types.ts";

export interface InitialState {
  hardState: HardState;
  /** The configuration in force at the node's applied index (Config.applied, or the
   * snapshot index when Config.applied is 0): what the last applied snapshot or
   * applyConfChange produced. */
  confState: ConfState;
}

export interface Storage {
  /** The persisted HardState and ConfState, read once when a RawNode is created. */
  initialState(): InitialState;
  /**
   * Entries with index in [lo, hi), at least one if lo < hi, further ones only while their
   * total size stays within maxBytes. Throws ErrCompacted if lo <= the snapshot index.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** The term of entry i, for i in [firstIndex()-1, lastIndex()] (firstIndex()-1 is the
   * snapshot's index, whose term is kept). Throws ErrCompacted / ErrUnavailable outside. */
  term(i: number): number;
  /** Index of the first entry still in the log (snapshot index + 1). */
  firstIndex(): number;
  /** Index of the last entry (the snapshot index when the log is empty). */
  lastIndex(): number;
  /** The most recent snapshot. Throws ErrSnapshotTemporarilyUnavailable if not ready. */
  snapshot(): Snapshot;
}

/**
 * In-memory Storage. ents[0] is a dummy entry holding the snapshot's index and term, so that
 * term(snapshotIndex) is answerable after compaction.
 * Invariant: ents[i].index === ents[0].index + i.
 */
export class MemoryStorage implements Storage {
  #hardState: HardState = emptyHardState();
  #snapshot: Snapshot = emptySnapshot();
  #ents: Entry[] = [{ term: 0, index: 0, type: "Normal", data: new Uint8Array(0) }];

  initialState(): InitialState {
    return { hardState: { ...this.#hardState }, confState: cloneConfState(this.#snapshot.metadata.confState) };
  }

  hardState(): HardState {
    return { ...this.#hardState };
  }

  setHardState(hs: HardState): void {
    this.#hardState = { ...hs };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.#ents[0]!.index;
    if (lo <= offset) throw ErrCompacted;
    assert(hi <= this.lastIndex() + 1, `entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    if (this.#ents.length === 1) throw ErrUnavailable;
    return limitSize(this.#ents.slice(lo - offset, hi - offset), maxBytes);
  }

  term(i: number): number {
    const offset = this.#ents[0]!.index;
    if (i < offset) throw ErrCompacted;
    if (i - offset >= this.#ents.length) throw ErrUnavailable;
    return this.#ents[i - offset]!.term;
  }

  firstIndex(): number {
    return this.#ents[0]!.index + 1;
  }

  lastIndex(): number {
    return this.#ents[0]!.index + this.#ents.length - 1;
  }

  snapshot(): Snapshot {
    return cloneSnapshot(this.#snapshot);
  }

  /** Replaces the whole log with a snapshot (a follower installing the leader's snapshot).
   * Throws ErrSnapOutOfDate if it is not newer than the one held. */
  applySnapshot(snap: Snapshot): void {
    const cur = this.#snapshot.metadata.index;
    if (cur !== 0 && cur >= snap.metadata.index) throw ErrSnapOutOfDate;
    this.#snapshot = cloneSnapshot(snap);
    this.#ents = [{ term: snap.metadata.term, index: snap.metadata.index, type: "Normal", data: new Uint8Array(0) }];
  }

  /**
   * Records a snapshot of the application's state at applied index i (with the
   * configuration in force at i). Does not drop log entries: call compact() for that.
   */
  createSnapshot(i: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.#snapshot.metadata.index) throw ErrSnapOutOfDate;
    const offset = this.#ents[0]!.index;
    assert(i <= this.lastIndex(), `snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    this.#snapshot = {
      metadata: { index: i, term: this.#ents[i - offset]!.term, confState: cloneConfState(confState) },
      data,
    };
    return cloneSnapshot(this.#snapshot);
  }

  /** Discards entries up to and including compactIndex (which must be <= the applied index
   * and should be <= the snapshot index). Throws ErrCompacted if already compacted. */
  compact(compactIndex: number): void {
    const offset = this.#ents[0]!.index;
    if (compactIndex <= offset) throw ErrCompacted;
    assert(compactIndex <= this.lastIndex(), `compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    const i = compactIndex - offset;
    const head: Entry = { term: this.#ents[i]!.term, index: this.#ents[i]!.index, type: "Normal", data: new Uint8Array(0) };
    this.#ents = [head, ...this.#ents.slice(i + 1)];
  }

  /** Appends entries, replacing any existing suffix that starts at or after entries[0].index.
   * Entries already compacted away are skipped. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return;
    let ents = entries as Entry[];
    if (first > ents[0]!.index) ents = ents.slice(first - ents[0]!.index);
    const offset = ents[0]!.index - this.#ents[0]!.index;
    assert(offset <= this.#ents.length, `missing log entry [last: ${this.lastIndex()}, append at: ${ents[0]!.index}]`);
    this.#ents = this.#ents.slice(0, offset).concat(ents);
  }

  /** A deep copy (the simulator uses this to model what a crashed member kept). */
  clone(): MemoryStorage {
    const c = new MemoryStorage();
    c.#hardState = { ...this.#hardState };
    c.#snapshot = cloneSnapshot(this.#snapshot);
    c.#ents = this.#ents.slice();
    return c;
  }
}

export function cloneConfState(cs: ConfState): ConfState {
  return {
    voters: cs.voters.slice(),
    learners: cs.learners.slice(),
    votersOutgoing: cs.votersOutgoing.slice(),
    learnersNext: cs.learnersNext.slice(),
    autoLeave: cs.autoLeave,
  };
}

export function cloneSnapshot(s: Snapshot): Snapshot {
  return {
    metadata: { index: s.metadata.index, term: s.metadata.term, confState: cloneConfState(s.metadata.confState) },
    data: s.data,
  };
}
