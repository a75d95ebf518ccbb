// The MVCC tables: etcd's key bucket (every revision of every key) plus the "live key"
// index that etcd keeps in memory (treeIndex), here as a table so a cold Durable Object
// needs no rebuild.
import type { SqlDb } from "../util/sql.ts";

export const MVCC_SCHEMA = `
-- Every revision of every key: etcd's "key" bucket. One row per change.
-- Invariants:
--  * (rev_main, rev_sub) is unique; rows are only ever inserted in increasing
--    (rev_main, rev_sub) order, so id order is revision order too.
--  * rev_main >= 2 (an empty store is at revision 1); rev_sub counts the changes of one
--    write txn from 0.
--  * tombstone = 1 rows are deletions: create_rev = version = 0, value empty, lease '0'
--    (etcd stores a KeyValue holding only the key).
--  * lease is the lease ID as decimal TEXT ('0' = none).
--  * After a finished compaction at C, every row with rev_main <= C is the newest row
--    <= C of its key and not a tombstone (kv_meta 'finished_compact_rev').
CREATE TABLE IF NOT EXISTS kv_rev (
  id INTEGER PRIMARY KEY,
  rev_main INTEGER NOT NULL,
  rev_sub INTEGER NOT NULL,
  key BLOB NOT NULL,
  create_rev INTEGER NOT NULL,
  version INTEGER NOT NULL,
  value BLOB NOT NULL,
  lease TEXT NOT NULL,
  tombstone INTEGER NOT NULL
);
-- Revision order: watch catch-up, compaction, hashing.
CREATE UNIQUE INDEX IF NOT EXISTS kv_rev_by_rev ON kv_rev (rev_main, rev_sub);
-- "Newest row <= R of each key in [a, b)": historical reads, compaction.
CREATE INDEX IF NOT EXISTS kv_rev_by_key ON kv_rev (key, rev_main, rev_sub);

-- The live keys at the current revision (the newest row of each key, when it is not a
-- tombstone). Invariants:
--  * exactly the keys whose newest kv_rev row is a put; id points at that row and
--    rev_main/create_rev/version/lease repeat its columns;
--  * lease != '0' names an existing row of the lease table (a put checks it, a revoke
--    deletes every key attached), so lease attachments are derived from this table.
CREATE TABLE IF NOT EXISTS kv_latest (
  key BLOB PRIMARY KEY,
  id INTEGER NOT NULL,
  rev_main INTEGER NOT NULL,
  create_rev INTEGER NOT NULL,
  version INTEGER NOT NULL,
  lease TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_latest_by_lease ON kv_latest (lease, key) WHERE lease != '0';

-- Store-wide counters, one row each:
--  current_rev            the store revision (1 when empty); bumped once per write txn
--                         that changed something
--  compact_rev            etcd's compactMainRev: -1 until the first compaction; reads
--                         below it fail with ErrCompacted
--  scheduled_compact_rev  the compaction whose physical deletion is under way (0 = none)
--  finished_compact_rev   the last compaction whose deletion finished (0 = none)
--  compact_cursor_main/sub  where the physical deletion resumes (inclusive)
--  consistent_index, applied_term  the raft entry last applied (written by the applier
--                         in the same transaction as the entry's effects)
CREATE TABLE IF NOT EXISTS kv_meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO kv_meta (name, value) VALUES
  ('current_rev', 1),
  ('compact_rev', -1),
  ('scheduled_compact_rev', 0),
  ('finished_compact_rev', 0),
  ('compact_cursor_main', 0),
  ('compact_cursor_sub', 0),
  ('consistent_index', 0),
  ('applied_term', 0);
`;

export function initMvccSchema(db: SqlDb): void {
  db.script(MVCC_SCHEMA);
}

export function readMeta(db: SqlDb, name: string): number {
  const row = db.first<{ value: number }>("SELECT value FROM kv_meta WHERE name = ?", name);
  if (!row) throw new Error(`kv_meta row ${name} missing`);
  return row.value;
}

export function writeMeta(db: SqlDb, name: string, value: number): void {
  db.run("UPDATE kv_meta SET value = ? WHERE name = ?", value, name);
}
