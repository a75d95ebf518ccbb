// etcd's MVCC store (mvcc/kvstore*.go) over SqlDb: revisions, range at a revision, write
// transactions that read their own writes, compaction, hashing and the event history.
// Every method is synchronous; callers that write run inside db.transaction().
import { Errors } from "../server/errors.ts";
import type { Event, KeyValue } from "../server/types.ts";
import type { SqlDb } from "../util/sql.ts";
import { CompactionRunner } from "./compaction.ts";
import { eventsBetween, prevKvOf, type EventsPage } from "./events.ts";
import { hashKV, type HashKVResult } from "./hash.ts";
import { NO_LEASE, rowToKeyValue } from "./kv.ts";
import { historyCount, historyRows, latestCount, latestRows, type RangeEnd } from "./queries.ts";
import { initMvccSchema, readMeta, writeMeta } from "./schema.ts";

export type { RangeEnd } from "./queries.ts";

export interface RangeOptions {
  /** Maximum number of kvs returned; <= 0 means no limit. Count ignores it. */
  limit?: number;
  /** Revision to read at; <= 0 means the view's revision. */
  rev?: number;
  /** Return only the count. */
  count?: boolean;
  /** Skip reading values (keys_only); the returned values are empty. */
  keysOnly?: boolean;
}

export interface RangeResult {
  kvs: KeyValue[];
  /** Number of keys in the range at the read revision (ignores limit). */
  count: number;
  /** The view's revision (the store's current revision), whatever revision was read. */
  rev: number;
}

export interface MvccOptions {
  /** Rows examined per physical compaction statement batch (etcd's default is 1000). */
  compactionBatchRows?: number;
}

const SQL_LATEST_ONE = "SELECT id, create_rev, version, lease FROM kv_latest WHERE key = ?";
// The row id is chosen here (max + 1, as SQLite would) so the insert needs no RETURNING.
const SQL_INSERT_PUT =
  "INSERT INTO kv_rev (id, rev_main, rev_sub, key, create_rev, version, value, lease, tombstone) VALUES (?, ?, ?, ?, ?, ?, coalesce(?, x''), ?, 0)";
const SQL_MAX_ID = "SELECT coalesce(max(id), 0) AS m FROM kv_rev";
const SQL_UPSERT_LATEST =
  "INSERT INTO kv_latest (key, id, rev_main, create_rev, version, lease) VALUES (?, ?, ?, ?, ?, ?) " +
  "ON CONFLICT (key) DO UPDATE SET id = excluded.id, rev_main = excluded.rev_main, create_rev = excluded.create_rev, version = excluded.version, lease = excluded.lease";
// Tombstones for every live key of a range, sub-revisions assigned in key order (etcd
// deletes in index order). ?1 main, ?2 first sub, ?3/?4 the range.
const TOMBSTONE_COLS = "INSERT INTO kv_rev (rev_main, rev_sub, key, create_rev, version, value, lease, tombstone) SELECT ?1, ?2 + row_number() OVER (ORDER BY key) - 1, key, 0, 0, x'', '0', 1 FROM kv_latest";
const SQL_TOMBSTONE = {
  one: `${TOMBSTONE_COLS} WHERE key = ?3 ORDER BY key`,
  span: `${TOMBSTONE_COLS} WHERE key >= ?3 AND key < ?4 ORDER BY key`,
  from: `${TOMBSTONE_COLS} WHERE key >= ?3 ORDER BY key`,
  lease: `${TOMBSTONE_COLS} WHERE lease = ?3 AND lease != '0' ORDER BY key`,
} as const;
const SQL_DELETE_LATEST = {
  one: "DELETE FROM kv_latest WHERE key = ?1",
  span: "DELETE FROM kv_latest WHERE key >= ?1 AND key < ?2",
  from: "DELETE FROM kv_latest WHERE key >= ?1",
  lease: "DELETE FROM kv_latest WHERE lease = ?1 AND lease != '0'",
} as const;
const SQL_LEASE_COUNT = "SELECT count(*) AS n FROM kv_latest WHERE lease = ? AND lease != '0'";
const SQL_LEASE_KEYS = "SELECT key FROM kv_latest WHERE lease = ? AND lease != '0' ORDER BY key";

export class MvccStore {
  readonly db: SqlDb;
  private currentRev = 1;
  private compactMainRev = -1;
  private readonly compaction: CompactionRunner;
  /** The largest kv_rev id, once read; forgotten whenever SQLite assigns ids itself. */
  private maxRowId: number | undefined;
  /**
   * Readers of the change history that may trail the current revision (the watch hub hands
   * revisions to its watchers after a batch of entries is applied). compact() calls them
   * before it deletes anything, so a revision applied earlier in the same batch (a delete
   * whose tombstone the compaction removes) is read before it is gone.
   */
  private readonly historyReaders: Array<() => void> = [];

  constructor(db: SqlDb, opts: MvccOptions = {}) {
    this.db = db;
    initMvccSchema(db);
    this.compaction = new CompactionRunner(db, opts.compactionBatchRows ?? 1000);
    this.reload();
  }

  /** Re-reads the cached counters (after a rolled-back transaction). */
  reload(): void {
    this.maxRowId = undefined;
    this.currentRev = readMeta(this.db, "current_rev");
    this.compactMainRev = readMeta(this.db, "compact_rev");
  }

  /** The store's current revision (1 when empty). */
  rev(): number {
    return this.currentRev;
  }

  /** etcd's compactMainRev: -1 until the first compaction. */
  compactRev(): number {
    return this.compactMainRev;
  }

  /** Range at the current revision (etcd's read txn). Throws FutureRev / Compacted. */
  range(key: Uint8Array, end: RangeEnd, opts: RangeOptions = {}): RangeResult {
    return this.rangeAt(key, end, this.currentRev, opts);
  }

  /** etcd's rangeKeys with view revision curRev; kv_latest must reflect curRev. */
  rangeAt(key: Uint8Array, end: RangeEnd, curRev: number, opts: RangeOptions): RangeResult {
    let rev = opts.rev ?? 0;
    if (rev > curRev) throw Errors.FutureRev;
    if (rev <= 0) rev = curRev;
    if (rev < this.compactMainRev) throw Errors.Compacted;
    const limit = opts.limit ?? 0;
    const withValue = !opts.keysOnly;
    const latest = rev === curRev;
    if (opts.count) {
      const count = latest ? latestCount(this.db, key, end) : historyCount(this.db, key, end, rev);
      return { kvs: [], count, rev: curRev };
    }
    const rows = latest ? latestRows(this.db, key, end, limit, withValue) : historyRows(this.db, key, end, rev, limit, withValue);
    let count = rows.length;
    if (limit > 0 && rows.length >= limit) {
      count = latest ? latestCount(this.db, key, end) : historyCount(this.db, key, end, rev);
    }
    return { kvs: rows.map(rowToKeyValue), count, rev: curRev };
  }

  /** Opens a write txn; run it inside db.transaction() and call end(). */
  beginWrite(): MvccWriteTxn {
    return new MvccWriteTxn(this, this.currentRev);
  }

  /** Keys attached to a lease (live keys whose lease is id), ascending. */
  keysWithLease(leaseText: string): Uint8Array[] {
    return this.db.all<{ key: Uint8Array }>(SQL_LEASE_KEYS, leaseText).map((r) => r.key);
  }

  /**
   * etcd's Compact: checks, records compactMainRev (reads below it fail from now on) and
   * schedules the physical deletion. Runs the deletion to completion unless
   * `deferPhysical`; then call compactionStep() until it returns true.
   */
  compact(rev: number, deferPhysical = false): void {
    if (rev <= this.compactMainRev) throw Errors.Compacted;
    if (rev > this.currentRev) throw Errors.FutureRev;
    for (const read of this.historyReaders) read();
    // One compaction at a time: finish an earlier one first (etcd's FIFO scheduler).
    while (!this.compaction.step()) {}
    this.compactMainRev = rev;
    writeMeta(this.db, "compact_rev", rev);
    this.compaction.schedule(rev);
    if (!deferPhysical) while (!this.compaction.step()) {}
  }

  /** Registers a history reader that compact() calls first (see historyReaders). */
  beforeCompaction(read: () => void): void {
    this.historyReaders.push(read);
  }

  /** True while a compaction's physical deletion is unfinished. */
  compactionPending(): boolean {
    return this.compaction.pending();
  }

  /** Runs one bounded batch of physical compaction; true when nothing is left. */
  compactionStep(): boolean {
    return this.compaction.step();
  }

  /** Hash of the history <= rev as every member sees it (etcd's HashKV). */
  hashKV(rev: number): HashKVResult {
    return hashKV(this.db, rev, this.currentRev, this.compactMainRev);
  }

  /** Events with fromRev <= mod revision <= toRev, whole revisions, up to about `limit`. */
  eventsBetween(fromRev: number, toRev: number, limit: number, prevKv = false): EventsPage {
    return eventsBetween(this, fromRev, toRev, limit, prevKv);
  }

  /** The kv a watch reports as prev_kv for an event of key at modRevision (or none). */
  prevKv(key: Uint8Array, modRevision: number): KeyValue | undefined {
    return prevKvOf(this, key, modRevision);
  }

  /** Number of live keys and of stored revisions (cheap size figures). */
  stats(): { keys: number; revisions: number } {
    const keys = this.db.first<{ n: number }>("SELECT count(*) AS n FROM kv_latest")!.n;
    const revisions = this.db.first<{ n: number }>("SELECT count(*) AS n FROM kv_rev")!.n;
    return { keys, revisions };
  }

  /** @internal: the id of the next kv_rev row a put inserts. */
  nextRowId(): number {
    this.maxRowId = (this.maxRowId ?? this.db.first<{ m: number }>(SQL_MAX_ID)!.m) + 1;
    return this.maxRowId;
  }

  /** @internal: rows were inserted with ids SQLite chose. */
  forgetRowId(): void {
    this.maxRowId = undefined;
  }

  /** @internal: the write txn's commit. */
  setCurrentRev(rev: number): void {
    this.currentRev = rev;
    writeMeta(this.db, "current_rev", rev);
  }
}

export type { Event };

/**
 * etcd's storeTxnWrite: every change gets revision (beginRev+1, n) for the n-th change;
 * reads see the txn's own earlier writes; end() bumps the store revision only when
 * something changed.
 */
export class MvccWriteTxn {
  readonly beginRev: number;
  private changes = 0;
  private ended = false;
  private readonly store: MvccStore;

  constructor(store: MvccStore, beginRev: number) {
    this.store = store;
    this.beginRev = beginRev;
  }

  /** The revision reads in this txn see: beginRev, or beginRev+1 once something changed. */
  rev(): number {
    return this.changes > 0 ? this.beginRev + 1 : this.beginRev;
  }

  changeCount(): number {
    return this.changes;
  }

  range(key: Uint8Array, end: RangeEnd, opts: RangeOptions = {}): RangeResult {
    return this.store.rangeAt(key, end, this.rev(), opts);
  }

  /** Writes key = value with the lease (decimal text, "0" for none); returns the txn revision. */
  put(key: Uint8Array, value: Uint8Array, leaseText: string): number {
    const db = this.store.db;
    const main = this.beginRev + 1;
    const prev = db.first<{ create_rev: number; version: number }>(SQL_LATEST_ONE, key);
    const createRev = prev ? prev.create_rev : main;
    const version = prev ? prev.version + 1 : 1;
    const id = this.store.nextRowId();
    db.run(SQL_INSERT_PUT, id, main, this.changes, key, createRev, version, value, leaseText);
    db.run(SQL_UPSERT_LATEST, key, id, main, createRev, version, leaseText);
    this.changes++;
    return main;
  }

  /** Deletes the live keys of the range; returns [deleted, revision of the response]. */
  deleteRange(key: Uint8Array, end: RangeEnd): [number, number] {
    const shape = end === null ? "one" : end.length === 0 ? "from" : "span";
    const n = latestCount(this.store.db, key, end);
    if (n > 0) {
      const db = this.store.db;
      if (shape === "span") {
        db.run(SQL_TOMBSTONE.span, this.beginRev + 1, this.changes, key, end);
        db.run(SQL_DELETE_LATEST.span, key, end);
      } else {
        db.run(SQL_TOMBSTONE[shape], this.beginRev + 1, this.changes, key);
        db.run(SQL_DELETE_LATEST[shape], key);
      }
      this.store.forgetRowId();
      this.changes += n;
    }
    if (n !== 0 || this.changes > 0) return [n, this.beginRev + 1];
    return [0, this.beginRev];
  }

  /** Deletes every key attached to the lease, in key order (etcd's Revoke); returns the count. */
  deleteLeaseKeys(leaseText: string): number {
    if (leaseText === NO_LEASE) return 0;
    const db = this.store.db;
    const n = db.first<{ n: number }>(SQL_LEASE_COUNT, leaseText)!.n;
    if (n > 0) {
      db.run(SQL_TOMBSTONE.lease, this.beginRev + 1, this.changes, leaseText);
      db.run(SQL_DELETE_LATEST.lease, leaseText);
      this.store.forgetRowId();
      this.changes += n;
    }
    return n;
  }

  /** Commits the revision bump (the enclosing db.transaction commits the rows). */
  end(): void {
    if (this.ended) throw new Error("mvcc write txn ended twice");
    this.ended = true;
    if (this.changes > 0) this.store.setCurrentRev(this.beginRev + 1);
  }
}
