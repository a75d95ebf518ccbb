// SqlDb over Node's built-in SQLite (node:sqlite), for unit tests and the simulator.
// Same engine as a member's Durable Object storage, so SQL behaves the same.
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { SqlDb, SqlRow, SqlValue } from "../../src/util/sql.ts";

export function openMemoryDb(path = ":memory:"): SqlDb & { close(): void } {
  const db = new DatabaseSync(path);
  const statements = new Map<string, StatementSync>();
  let depth = 0;
  const prepare = (sql: string): StatementSync => {
    let st = statements.get(sql);
    if (!st) {
      st = db.prepare(sql);
      statements.set(sql, st);
    }
    return st;
  };
  const norm = (row: Record<string, unknown>): SqlRow => {
    for (const k in row) {
      const v = row[k];
      // Copies: a subclass, and an empty BLOB (node:sqlite binds the empty array it returns
      // as NULL when it is written back, e.g. a leader's empty entry sent on to a follower).
      if (v instanceof Uint8Array && (v.constructor !== Uint8Array || v.length === 0)) row[k] = new Uint8Array(v);
    }
    return row as SqlRow;
  };
  return {
    all<T extends SqlRow>(sql: string, ...binds: SqlValue[]): T[] {
      return (prepare(sql).all(...binds) as Record<string, unknown>[]).map(norm) as T[];
    },
    first<T extends SqlRow>(sql: string, ...binds: SqlValue[]): T | undefined {
      const row = prepare(sql).get(...binds) as Record<string, unknown> | undefined;
      return row ? (norm(row) as T) : undefined;
    },
    run(sql: string, ...binds: SqlValue[]): void {
      prepare(sql).run(...binds);
    },
    script(sql: string): void {
      db.exec(sql);
    },
    transaction<T>(fn: () => T): T {
      const name = `sp${depth}`;
      db.exec(`SAVEPOINT ${name}`);
      depth++;
      try {
        const out = fn();
        depth--;
        db.exec(`RELEASE ${name}`);
        return out;
      } catch (err) {
        depth--;
        db.exec(`ROLLBACK TO ${name}`);
        db.exec(`RELEASE ${name}`);
        throw err;
      }
    },
    close(): void {
      db.close();
    },
  };
}
