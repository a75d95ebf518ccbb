// The one storage interface the pure modules (mvcc, lease, auth, server) are written against:
// a synchronous SQLite connection. In a member it is the Durable Object's `ctx.storage.sql`
// (with `transactionSync`); in Node tests and the simulator it is `node:sqlite`. Both are
// SQLite, so the SQL, its BLOB ordering and its results are the same in both places.
//
// Value conventions (both adapters normalise to these):
// - BLOB columns come back as Uint8Array; bind Uint8Array for BLOBs.
// - INTEGER columns come back as number (revisions and counters stay below 2^53).
// - 64-bit identifiers that can exceed 2^53 (lease IDs, member IDs) are stored as TEXT
//   holding the decimal form and converted with BigInt() by the owner module; bigint is
//   never bound (workerd rejects it).

export type SqlValue = number | string | Uint8Array | null;
export type SqlRow = Record<string, SqlValue>;

export interface SqlDb {
  /** Runs one statement and returns all rows (empty for statements without results). */
  all<T extends SqlRow = SqlRow>(sql: string, ...binds: SqlValue[]): T[];
  /** Runs one statement; returns the first row or undefined. */
  first<T extends SqlRow = SqlRow>(sql: string, ...binds: SqlValue[]): T | undefined;
  /** Runs one statement for its effect. */
  run(sql: string, ...binds: SqlValue[]): void;
  /** Runs several semicolon-separated statements without binds (schema set-up). */
  script(sql: string): void;
  /** Runs fn atomically: every statement inside commits together or not at all. */
  transaction<T>(fn: () => T): T;
}
