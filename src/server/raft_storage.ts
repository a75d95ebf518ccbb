// The raft log, hard state and snapshot metadata of one member in its SQLite database,
// as the raft core's Storage. The core only reads through this interface; the node driver
// writes each Ready's entries and hard state here in one transaction before sending
// anything that depends on them.
import {
  ErrCompacted,
  ErrUnavailable,
  emptyConfState,
  type ConfState,
  type Entry,
  type EntryType,
  type HardState,
  type InitialState,
  type Snapshot,
  type Storage,
} from "../raft/index.ts";
import type { SqlDb } from "../util/sql.ts";

// Invariants:
// - raft_log holds exactly the indexes (compacted_index, last_index], contiguous.
// - raft_meta 'compacted' is {index, term} of the last entry dropped from the log (raft's
//   dummy entry: firstIndex() - 1 and its term). Absent, it equals the snapshot point.
// - raft_meta 'snapshot' is the last snapshot point's {index, term, confState}, at or after
//   the compacted index: etcd keeps SnapshotCatchUpEntries entries below its snapshot so a
//   slightly lagging follower still catches up from the log. 'hard_state' is the last
//   persisted term/vote/commit.
// - 'conf_state' is the configuration in force at the applied index (written with applies).
const SCHEMA = `
CREATE TABLE IF NOT EXISTS raft_log (
  idx INTEGER PRIMARY KEY,
  term INTEGER NOT NULL,
  type INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS raft_meta (
  k TEXT PRIMARY KEY,
  v TEXT NOT NULL
) WITHOUT ROWID;
`;

const TYPE_CODE: Record<EntryType, number> = { Normal: 0, ConfChange: 1 };
const ENTRY_OVERHEAD_BYTES = 16;
/** The log tail kept in memory: at most this many entries and about this many bytes. */
const TAIL_MAX_ENTRIES = 4096;
const TAIL_MAX_BYTES = 8 * 1024 * 1024;

interface SnapshotMeta {
  index: number;
  term: number;
  confState: ConfState;
}

export class SqliteRaftStorage implements Storage {
  private readonly db: SqlDb;
  private snap: SnapshotMeta;
  private compacted: { index: number; term: number };
  private last: number;
  // The newest entries as they were appended, contiguous and ending at `last` (or empty):
  // raft reads the terms and committed entries it just wrote, and a follower's next
  // append is checked against the last term, so these reads need not go to SQLite.
  private tail: Entry[] = [];
  private tailBytes = 0;

  constructor(db: SqlDb) {
    this.db = db;
    db.script(SCHEMA);
    this.snap = this.readJson<SnapshotMeta>("snapshot") ?? { index: 0, term: 0, confState: emptyConfState() };
    this.compacted = this.readJson<{ index: number; term: number }>("compacted") ?? { index: this.snap.index, term: this.snap.term };
    const row = db.first<{ m: number | null }>("SELECT max(idx) AS m FROM raft_log");
    this.last = row?.m ?? this.compacted.index;
  }

  /** True for a member that has never persisted anything (bootstrap needed). */
  isEmpty(): boolean {
    return this.readJson("hard_state") === undefined && this.last === 0 && this.snap.index === 0;
  }

  initialState(): InitialState {
    const hardState = this.readJson<HardState>("hard_state") ?? { term: 0, vote: "", commit: 0 };
    const confState = this.readJson<ConfState>("conf_state") ?? this.snap.confState;
    return { hardState, confState };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.compacted.index) throw ErrCompacted;
    if (hi > this.last + 1) throw ErrUnavailable;
    const tailStart = this.tail.length > 0 ? this.tail[0]!.index : Infinity;
    if (lo >= tailStart) {
      const out: Entry[] = [];
      let size = 0;
      for (let i = lo; i < hi; i++) {
        const e = this.tail[i - tailStart]!;
        size += e.data.length + ENTRY_OVERHEAD_BYTES;
        if (out.length > 0 && size > maxBytes) break;
        out.push(e);
      }
      return out;
    }
    const rows = this.db.all<{ idx: number; term: number; type: number; data: Uint8Array }>(
      "SELECT idx, term, type, data FROM raft_log WHERE idx >= ? AND idx < ? ORDER BY idx",
      lo,
      hi,
    );
    if (rows.length !== hi - lo) throw ErrUnavailable;
    const out: Entry[] = [];
    let size = 0;
    for (const r of rows) {
      size += r.data.length + ENTRY_OVERHEAD_BYTES;
      if (out.length > 0 && size > maxBytes) break;
      out.push({ index: r.idx, term: r.term, type: r.type === 1 ? "ConfChange" : "Normal", data: r.data });
    }
    return out;
  }

  term(i: number): number {
    if (i === this.compacted.index) return this.compacted.term;
    if (i < this.compacted.index) throw ErrCompacted;
    if (i > this.last) throw ErrUnavailable;
    const tailStart = this.tail.length > 0 ? this.tail[0]!.index : Infinity;
    if (i >= tailStart) return this.tail[i - tailStart]!.term;
    const row = this.db.first<{ term: number }>("SELECT term FROM raft_log WHERE idx = ?", i);
    if (!row) throw ErrUnavailable;
    return row.term;
  }

  firstIndex(): number {
    return this.compacted.index + 1;
  }

  lastIndex(): number {
    return this.last;
  }

  snapshot(): Snapshot {
    return { metadata: { ...this.snap, confState: structuredClone(this.snap.confState) }, data: new Uint8Array(0) };
  }

  // ---- writes (call inside the caller's transaction) ----

  /** Appends entries, replacing any conflicting suffix from entries[0].index on. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    if (first <= this.last) this.db.run("DELETE FROM raft_log WHERE idx >= ?", first);
    for (const e of entries) {
      if (e.index <= this.compacted.index) continue;
      this.db.run("INSERT INTO raft_log (idx, term, type, data) VALUES (?, ?, ?, ?)", e.index, e.term, TYPE_CODE[e.type], e.data);
    }
    this.last = entries[entries.length - 1]!.index;
    this.appendTail(entries);
  }

  private appendTail(entries: readonly Entry[]): void {
    const first = entries[0]!.index;
    const tailStart = this.tail.length > 0 ? this.tail[0]!.index : first;
    if (first < tailStart || first > tailStart + this.tail.length) this.resetTail();
    else while (this.tail.length > 0 && this.tail[this.tail.length - 1]!.index >= first) this.tailBytes -= this.tail.pop()!.data.length;
    for (const e of entries) {
      if (e.index <= this.compacted.index) continue;
      this.tail.push(e);
      this.tailBytes += e.data.length;
    }
    let drop = 0;
    while (this.tail.length - drop > TAIL_MAX_ENTRIES || (this.tailBytes > TAIL_MAX_BYTES && this.tail.length - drop > 1)) {
      this.tailBytes -= this.tail[drop]!.data.length;
      drop++;
    }
    if (drop > 0) this.tail = this.tail.slice(drop);
  }

  private resetTail(): void {
    this.tail = [];
    this.tailBytes = 0;
  }

  setHardState(hs: HardState): void {
    this.writeJson("hard_state", hs);
  }

  setConfState(cs: ConfState): void {
    this.writeJson("conf_state", cs);
  }

  /** The last snapshot point's index (0 before the first). */
  snapshotIndex(): number {
    return this.snap.index;
  }

  /**
   * Records a snapshot point (etcd's CreateSnapshot): the applied state at index, which
   * must be applied and still in the log (or the compaction point itself).
   */
  createSnapshot(index: number, confState: ConfState): void {
    if (index <= this.snap.index) return;
    if (index > this.last) throw ErrUnavailable;
    this.snap = { index, term: this.term(index), confState: structuredClone(confState) };
    this.writeJson("snapshot", this.snap);
  }

  /**
   * Drops the log up to index (etcd's Compact), which must not pass the snapshot point:
   * index becomes the dummy entry, firstIndex() is index + 1.
   */
  compact(index: number): void {
    if (index <= this.compacted.index) return;
    if (index > this.snap.index) throw new Error(`raft storage: compact ${index} is past the snapshot ${this.snap.index}`);
    this.compacted = { index, term: this.term(index) };
    this.writeJson("compacted", this.compacted);
    this.db.run("DELETE FROM raft_log WHERE idx <= ?", index);
    const keep = this.tail.findIndex((e) => e.index > index);
    if (keep < 0) this.resetTail();
    else if (keep > 0) {
      for (const e of this.tail.slice(0, keep)) this.tailBytes -= e.data.length;
      this.tail = this.tail.slice(keep);
    }
  }

  /** Installs a received snapshot's metadata: the whole log is replaced. */
  installSnapshot(meta: SnapshotMeta): void {
    this.snap = { index: meta.index, term: meta.term, confState: structuredClone(meta.confState) };
    this.compacted = { index: meta.index, term: meta.term };
    this.writeJson("snapshot", this.snap);
    this.writeJson("compacted", this.compacted);
    this.writeJson("conf_state", this.snap.confState);
    this.db.run("DELETE FROM raft_log");
    this.last = meta.index;
    this.resetTail();
  }

  private readJson<T>(k: string): T | undefined {
    const row = this.db.first<{ v: string }>("SELECT v FROM raft_meta WHERE k = ?", k);
    return row ? (JSON.parse(row.v) as T) : undefined;
  }

  private writeJson(k: string, v: unknown): void {
    this.db.run("INSERT INTO raft_meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v", k, JSON.stringify(v));
  }
}
