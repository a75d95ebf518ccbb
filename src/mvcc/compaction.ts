// Physical compaction in bounded batches (etcd's scheduleCompaction). Compacting at C
// deletes every row superseded at or before C and keeps, per key, the newest row <= C
// unless it is a tombstone. Reads at revisions >= C see the same data before, during and
// after the deletion, so batches may run in separate transactions.
//
// Batches walk rows (prevC, C] in revision order, where prevC is the last finished
// compaction: rows <= prevC are already only "kept" rows (one per key at most), and such a
// row becomes superseded exactly when its key has a row in (prevC, C]. A key's older rows
// are deleted in the same batch as (or a batch before) its tombstone, so a read never sees
// an old put resurface.
import type { SqlDb } from "../util/sql.ts";
import { readMeta, writeMeta } from "./schema.ts";

const BATCH = "(r.rev_main, r.rev_sub) >= (?1, ?2) AND (r.rev_main, r.rev_sub) <= (?3, ?4) AND r.rev_main <= ?5";

const SQL_BATCH_END =
  "SELECT rev_main, rev_sub FROM kv_rev WHERE (rev_main, rev_sub) >= (?1, ?2) AND rev_main <= ?3 ORDER BY rev_main, rev_sub LIMIT 1 OFFSET ?4";
// Rows <= prevC (?6) of keys that have a row in this batch: superseded.
const SQL_DELETE_OLD_KEPT =
  `DELETE FROM kv_rev WHERE id IN (SELECT o.id FROM kv_rev r JOIN kv_rev o ON o.key = r.key AND o.rev_main <= ?6 WHERE ${BATCH})`;
// Rows of the batch that are tombstones or have a newer row <= C.
const SQL_DELETE_SUPERSEDED =
  `DELETE FROM kv_rev WHERE id IN (SELECT r.id FROM kv_rev r WHERE ${BATCH} AND (r.tombstone = 1 OR EXISTS (` +
  "SELECT 1 FROM kv_rev n WHERE n.key = r.key AND n.rev_main <= ?5 AND (n.rev_main, n.rev_sub) > (r.rev_main, r.rev_sub))))";

export class CompactionRunner {
  private readonly db: SqlDb;
  private readonly batchRows: number;

  constructor(db: SqlDb, batchRows: number) {
    this.db = db;
    this.batchRows = Math.max(1, Math.floor(batchRows));
  }

  pending(): boolean {
    return readMeta(this.db, "scheduled_compact_rev") !== 0;
  }

  schedule(rev: number): void {
    const prev = Math.max(0, readMeta(this.db, "finished_compact_rev"));
    writeMeta(this.db, "scheduled_compact_rev", rev);
    writeMeta(this.db, "compact_cursor_main", prev + 1);
    writeMeta(this.db, "compact_cursor_sub", 0);
  }

  /** Deletes one batch; true when the scheduled compaction (if any) has finished. */
  step(): boolean {
    const db = this.db;
    const target = readMeta(db, "scheduled_compact_rev");
    if (target === 0) return true;
    const prev = Math.max(0, readMeta(db, "finished_compact_rev"));
    const fromMain = readMeta(db, "compact_cursor_main");
    const fromSub = readMeta(db, "compact_cursor_sub");
    const end = db.first<{ rev_main: number; rev_sub: number }>(SQL_BATCH_END, fromMain, fromSub, target, this.batchRows - 1);
    const last = end === undefined;
    const toMain = last ? target : end.rev_main;
    const toSub = last ? Number.MAX_SAFE_INTEGER : end.rev_sub;
    db.run(SQL_DELETE_OLD_KEPT, fromMain, fromSub, toMain, toSub, target, prev);
    db.run(SQL_DELETE_SUPERSEDED, fromMain, fromSub, toMain, toSub, target);
    if (last) {
      writeMeta(db, "finished_compact_rev", target);
      writeMeta(db, "scheduled_compact_rev", 0);
      return true;
    }
    writeMeta(db, "compact_cursor_main", toMain);
    writeMeta(db, "compact_cursor_sub", toSub + 1);
    return false;
  }
}
