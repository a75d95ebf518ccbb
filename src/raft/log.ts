// RaftLog: the node's view of its log, the persisted part (Storage) followed by the
// unstable part (not yet persisted), plus the commit and apply cursors.
//
// Invariants: applied <= applying <= committed <= lastIndex(); firstIndex()-1 <= applied.

import { ErrCompacted, ErrUnavailable, assert } from "./errors.ts";
import type { Storage } from "./storage.ts";
import { Unstable } from "./log-unstable.ts";
import { entriesSizeBytes, limitSize, type Entry, type Snapshot } from "./types.ts";

export const NO_LIMIT = Number.MAX_SAFE_INTEGER;

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** Highest index known to be committed (on a quorum of the log's own term rules). */
  committed: number;
  /** Highest index handed to the application for applying (in a Ready not yet advanced). */
  applying: number;
  /** Highest index the application has applied (acknowledged by advance). */
  applied: number;
  /** Bound on the size of committed entries handed out per Ready. */
  readonly maxApplyingEntsBytes: number;
  applyingEntsBytes = 0;
  applyingEntsPaused = false;

  constructor(storage: Storage, maxApplyingEntsBytes: number) {
    this.storage = storage;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applying = first - 1;
    this.applied = first - 1;
    this.maxApplyingEntsBytes = maxApplyingEntsBytes;
  }

  /**
   * AppendEntries on a follower: if the entry at prevIndex has prevTerm, appends the entries
   * that are new (truncating only at a real conflict, never because a message is shorter
   * than the log) and commits up to min(commit, last new index). Returns the last index
   * covered by the message, or null when the consistency check fails.
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, ents: Entry[]): number | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null;
    const lastNew = prevIndex + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      assert(ci > this.committed, `entry ${ci} conflict with committed entry [committed(${this.committed})]`);
      this.append(ents.slice(ci - (prevIndex + 1)));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    assert(after >= this.committed, `after(${after}) is out of range [committed(${this.committed})]`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The index of the first entry in ents that is not in the log with the same term (a
   * conflict or simply new), or 0 if every entry is already present.
   */
  findConflict(ents: Entry[]): number {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return 0;
  }

  /**
   * The largest index <= index whose term is <= term, with that term: the best guess of
   * where this log and a log having `term` at `index` can still match. Returns [index, 0]
   * when the term at index is unknown (compacted).
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (; index > 0; index--) {
      const t = this.term(index);
      if (t === null) return [index, 0];
      if (t <= term) return [index, t];
    }
    return [0, 0];
  }

  nextUnstableEnts(): Entry[] {
    return this.unstable.nextEntries();
  }

  hasNextUnstableEnts(): boolean {
    return this.unstable.offsetInProgress - this.unstable.offset < this.unstable.entries.length;
  }

  hasNextOrInProgressSnapshot(): boolean {
    return this.unstable.snapshot !== null;
  }

  /** Committed entries to hand to the application next (may include unstable entries: the
   * application persists a Ready's entries before applying its committed entries). */
  nextCommittedEnts(): Entry[] {
    if (this.applyingEntsPaused || this.hasNextOrInProgressSnapshot()) return [];
    const lo = this.applying + 1;
    const hi = this.committed + 1;
    if (lo >= hi) return [];
    const maxBytes = this.maxApplyingEntsBytes - this.applyingEntsBytes;
    assert(maxBytes > 0, `applying entry size not positive`);
    const ents = this.slice(lo, hi, maxBytes);
    assert(ents !== null, `unexpected compaction of unapplied entries [${lo}, ${hi})`);
    return ents;
  }

  hasNextCommittedEnts(): boolean {
    if (this.applyingEntsPaused || this.hasNextOrInProgressSnapshot()) return false;
    return this.applying < this.committed;
  }

  /** The snapshot to hand out for sending: the unstable one if any, else storage's. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  commitTo(toCommit: number): void {
    if (this.committed < toCommit) {
      assert(
        this.lastIndex() >= toCommit,
        `tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`,
      );
      this.committed = toCommit;
    }
  }

  appliedTo(i: number, sizeBytes: number): void {
    assert(
      this.committed >= i && i >= this.applied,
      `applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`,
    );
    this.applied = i;
    this.applying = Math.max(this.applying, i);
    this.applyingEntsBytes = Math.max(0, this.applyingEntsBytes - sizeBytes);
    this.applyingEntsPaused = this.applyingEntsBytes >= this.maxApplyingEntsBytes;
  }

  acceptApplying(i: number, sizeBytes: number): void {
    assert(this.committed >= i, `applying(${i}) is out of range [committed(${this.committed})]`);
    this.applying = i;
    this.applyingEntsBytes += sizeBytes;
    this.applyingEntsPaused = this.applyingEntsBytes >= this.maxApplyingEntsBytes;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  acceptUnstable(): void {
    this.unstable.acceptInProgress();
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    assert(t !== null, `unexpected error when getting the last term at ${this.lastIndex()}`);
    return t;
  }

  /** The term of entry i, or null if i is compacted away or beyond the last index. */
  term(i: number): number | null {
    const ut = this.unstable.maybeTerm(i);
    if (ut !== null) return ut;
    if (i + 1 < this.firstIndex() || i > this.lastIndex()) return null;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (err === ErrCompacted || err === ErrUnavailable) return null;
      throw err;
    }
  }

  /** Entries from i to the end, bounded by maxBytes; null if i is compacted. */
  entries(i: number, maxBytes: number): Entry[] | null {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxBytes);
  }

  /** Every entry in the log (tests and the simulator's checkers). */
  allEntries(): Entry[] {
    return this.entries(this.firstIndex(), NO_LIMIT) ?? [];
  }

  /** Raft's election restriction: is a log ending at (index, term) at least as up to date
   * as this one? Higher last term wins; equal terms compare length. */
  isUpToDate(index: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && index >= this.lastIndex());
  }

  matchTerm(index: number, term: number): boolean {
    const t = this.term(index);
    return t !== null && t === term;
  }

  /** Leader: commits index if the entry there is from `term` (the current term). Entries of
   * earlier terms are only ever committed indirectly, by a later entry of the current term. */
  maybeCommit(index: number, term: number): boolean {
    if (term !== 0 && index > this.committed && this.matchTerm(index, term)) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Visits [lo, hi) in pages of at most pageBytes; stops early if fn returns true. */
  scan(lo: number, hi: number, pageBytes: number, fn: (ents: Entry[]) => boolean): void {
    while (lo < hi) {
      const ents = this.slice(lo, hi, pageBytes);
      assert(ents !== null && ents.length > 0, `got 0 entries in [${lo}, ${hi})`);
      if (fn(ents)) return;
      lo += ents.length;
    }
  }

  /** Entries in [lo, hi), bounded by maxBytes (at least one); null if lo is compacted. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] | null {
    assert(lo <= hi, `invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) return null;
    assert(hi <= this.lastIndex() + 1, `slice[${lo},${hi}) out of bound [${fi},${this.lastIndex()}]`);
    if (lo === hi) return [];
    const uOff = this.unstable.offset;
    if (lo >= uOff) return limitSize(this.unstable.slice(lo, hi), maxBytes);
    const cut = Math.min(hi, uOff);
    let ents: Entry[];
    try {
      ents = this.storage.entries(lo, cut, maxBytes);
    } catch (err) {
      if (err === ErrCompacted) return null;
      if (err === ErrUnavailable) throw new Error(`raft: entries[${lo}:${cut}) is unavailable from storage`);
      throw err;
    }
    if (hi <= uOff || ents.length < cut - lo) return ents;
    const size = entriesSizeBytes(ents);
    if (size >= maxBytes) return ents;
    const rest = limitSize(this.unstable.slice(uOff, hi), maxBytes - size);
    if (rest.length === 1 && size + entriesSizeBytes(rest) > maxBytes) return ents;
    return ents.concat(rest);
  }
}
