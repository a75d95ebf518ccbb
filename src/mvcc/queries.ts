// Constant SQL for reading keys at a revision. Three shapes of key range, as etcd's index
// sees them: one key (no range end), [key, end), and [key, +inf) (range end "\0").
// Reads at the view's own revision use kv_latest; older revisions walk the distinct keys
// of kv_rev with a recursive skip-scan (O(keys in range · log n), not O(history)).
import type { SqlDb, SqlValue } from "../util/sql.ts";

/** null: the single key; empty: every key >= key; otherwise the exclusive end. */
export type RangeEnd = Uint8Array | null;

export interface KvRow {
  [k: string]: Uint8Array | number | string;
  key: Uint8Array;
  create_rev: number;
  rev_main: number;
  version: number;
  lease: string;
  value: Uint8Array;
}

type Shape = "one" | "span" | "from";
function shapeOf(end: RangeEnd): Shape {
  if (end === null) return "one";
  return end.length === 0 ? "from" : "span";
}

const LATEST_COLS = "l.key AS key, l.create_rev AS create_rev, l.rev_main AS rev_main, l.version AS version, l.lease AS lease";
const LATEST_WHERE: Record<Shape, string> = {
  one: "l.key = ?1",
  span: "l.key >= ?1 AND l.key < ?2",
  from: "l.key >= ?1",
};

function latestSql(shape: Shape, withValue: boolean): string {
  const limitParam = "?3";
  if (withValue) {
    return `SELECT ${LATEST_COLS}, r.value AS value FROM kv_latest l CROSS JOIN kv_rev r ON r.id = l.id WHERE ${LATEST_WHERE[shape]} ORDER BY l.key LIMIT ${limitParam}`;
  }
  return `SELECT ${LATEST_COLS}, x'' AS value FROM kv_latest l WHERE ${LATEST_WHERE[shape]} ORDER BY l.key LIMIT ${limitParam}`;
}

function latestCountSql(shape: Shape): string {
  return `SELECT count(*) AS n FROM kv_latest l WHERE ${LATEST_WHERE[shape]}`;
}

// Distinct keys of kv_rev in [?1, ?2) or [?1, +inf), ascending (FIFO recursion keeps order).
const KEYS_CTE: Record<"span" | "from", string> = {
  span: `WITH RECURSIVE ks(k) AS (
    SELECT (SELECT key FROM kv_rev WHERE key >= ?1 AND key < ?2 ORDER BY key LIMIT 1)
    UNION ALL
    SELECT (SELECT key FROM kv_rev WHERE key > ks.k AND key < ?2 ORDER BY key LIMIT 1) FROM ks WHERE ks.k IS NOT NULL)`,
  from: `WITH RECURSIVE ks(k) AS (
    SELECT (SELECT key FROM kv_rev WHERE key >= ?1 ORDER BY key LIMIT 1)
    UNION ALL
    SELECT (SELECT key FROM kv_rev WHERE key > ks.k ORDER BY key LIMIT 1) FROM ks WHERE ks.k IS NOT NULL)`,
};
// ?4 = revision, ?3 = limit
const NEWEST_AT = "(SELECT x.id FROM kv_rev x WHERE x.key = ks.k AND x.rev_main <= ?4 ORDER BY x.rev_main DESC, x.rev_sub DESC LIMIT 1)";

function historySql(shape: "span" | "from", withValue: boolean): string {
  const value = withValue ? "r.value" : "x''";
  return `${KEYS_CTE[shape]}
  SELECT r.key AS key, r.create_rev AS create_rev, r.rev_main AS rev_main, r.version AS version, r.lease AS lease, ${value} AS value
  FROM ks CROSS JOIN kv_rev r ON r.id = ${NEWEST_AT} WHERE r.tombstone = 0 LIMIT ?3`;
}

function historyCountSql(shape: "span" | "from"): string {
  return `${KEYS_CTE[shape]}
  SELECT count(*) AS n FROM ks CROSS JOIN kv_rev r ON r.id = ${NEWEST_AT} WHERE r.tombstone = 0`;
}

const HISTORY_ONE = `SELECT key, create_rev, rev_main, version, lease, value, tombstone FROM kv_rev
  WHERE key = ?1 AND rev_main <= ?2 ORDER BY rev_main DESC, rev_sub DESC LIMIT 1`;

const SQL = {
  latest: {
    one: [latestSql("one", false), latestSql("one", true)],
    span: [latestSql("span", false), latestSql("span", true)],
    from: [latestSql("from", false), latestSql("from", true)],
  },
  latestCount: { one: latestCountSql("one"), span: latestCountSql("span"), from: latestCountSql("from") },
  history: {
    span: [historySql("span", false), historySql("span", true)],
    from: [historySql("from", false), historySql("from", true)],
  },
  historyCount: { span: historyCountSql("span"), from: historyCountSql("from") },
} as const;

function binds(key: Uint8Array, end: RangeEnd): [SqlValue, SqlValue] {
  return [key, end !== null && end.length > 0 ? end : null];
}

/** Live keys at the latest revision, ascending; limit <= 0 means all. */
export function latestRows(db: SqlDb, key: Uint8Array, end: RangeEnd, limit: number, withValue: boolean): KvRow[] {
  const shape = shapeOf(end);
  const [a, b] = binds(key, end);
  return db.all<KvRow>(SQL.latest[shape][withValue ? 1 : 0], a, b, limit > 0 ? limit : -1);
}

export function latestCount(db: SqlDb, key: Uint8Array, end: RangeEnd): number {
  const shape = shapeOf(end);
  const sql = SQL.latestCount[shape];
  const row = shape === "span" ? db.first<{ n: number }>(sql, key, end) : db.first<{ n: number }>(sql, key);
  return row!.n;
}

/** Keys alive at revision rev (their newest row <= rev is a put), ascending. */
export function historyRows(db: SqlDb, key: Uint8Array, end: RangeEnd, rev: number, limit: number, withValue: boolean): KvRow[] {
  const shape = shapeOf(end);
  if (shape === "one") {
    const row = db.first<KvRow & { tombstone: number }>(HISTORY_ONE, key, rev);
    if (!row || row.tombstone) return [];
    return [row];
  }
  const [a, b] = binds(key, end);
  return db.all<KvRow>(SQL.history[shape][withValue ? 1 : 0], a, b, limit > 0 ? limit : -1, rev);
}

export function historyCount(db: SqlDb, key: Uint8Array, end: RangeEnd, rev: number): number {
  const shape = shapeOf(end);
  if (shape === "one") return historyRows(db, key, end, rev, 1, false).length;
  const [a, b] = binds(key, end);
  return db.first<{ n: number }>(SQL.historyCount[shape], a, b, null, rev)!.n;
}
