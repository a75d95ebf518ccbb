// The unstable part of the log: entries (and possibly a snapshot) that the node has accepted
// but the application has not yet confirmed as persisted.

import { assert } from "./errors.ts";
import type { Entry, Snapshot } from "./types.ts";

export class Unstable {
  /** An incoming snapshot not yet persisted. */
  snapshot: Snapshot | null = null;
  /** entries[i] has index offset + i. */
  entries: Entry[] = [];
  offset: number;
  /** Whether the snapshot has been handed out in a Ready (awaiting advance). */
  snapshotInProgress = false;
  /**
   * entries with index < offsetInProgress have been handed out in a Ready and are being
   * written. Invariant: offset <= offsetInProgress <= offset + entries.length.
   */
  offsetInProgress: number;

  constructor(offset: number) {
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  maybeFirstIndex(): number | null {
    return this.snapshot ? this.snapshot.metadata.index + 1 : null;
  }

  maybeLastIndex(): number | null {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    if (this.snapshot) return this.snapshot.metadata.index;
    return null;
  }

  maybeTerm(i: number): number | null {
    if (i < this.offset) {
      if (this.snapshot && this.snapshot.metadata.index === i) return this.snapshot.metadata.term;
      return null;
    }
    const last = this.maybeLastIndex();
    if (last === null || i > last) return null;
    return this.entries[i - this.offset]!.term;
  }

  /** Entries not yet handed out for persistence. */
  nextEntries(): Entry[] {
    const inProgress = this.offsetInProgress - this.offset;
    return inProgress === this.entries.length ? [] : this.entries.slice(inProgress);
  }

  nextSnapshot(): Snapshot | null {
    return this.snapshot && !this.snapshotInProgress ? this.snapshot : null;
  }

  /** Marks everything currently unstable as handed out in a Ready. */
  acceptInProgress(): void {
    if (this.entries.length > 0) this.offsetInProgress = this.entries[this.entries.length - 1]!.index + 1;
    if (this.snapshot) this.snapshotInProgress = true;
  }

  /** The application persisted entries up to (index, term): drop them from here, unless the
   * entry at index has since been replaced (then they will be written again). */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index);
    if (t === null || index < this.offset || t !== term) return;
    const n = index + 1 - this.offset;
    this.entries = this.entries.slice(n);
    this.offset = index + 1;
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
  }

  stableSnapTo(i: number): void {
    if (this.snapshot && this.snapshot.metadata.index === i) {
      this.snapshot = null;
      this.snapshotInProgress = false;
    }
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  /** Appends ents (contiguous), truncating any unstable entries at or after ents[0].index. */
  truncateAndAppend(ents: Entry[]): void {
    const from = ents[0]!.index;
    if (from === this.offset + this.entries.length) {
      this.entries = this.entries.concat(ents);
    } else if (from <= this.offset) {
      // The log is being rewritten from before the unstable part: replace it all.
      this.entries = ents.slice();
      this.offset = from;
      this.offsetInProgress = from;
    } else {
      this.entries = this.slice(this.offset, from).concat(ents);
      this.offsetInProgress = Math.min(this.offsetInProgress, from);
    }
  }

  slice(lo: number, hi: number): Entry[] {
    const upper = this.offset + this.entries.length;
    assert(lo <= hi && lo >= this.offset && hi <= upper, `unstable.slice[${lo},${hi}) out of bound [${this.offset},${upper}]`);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
