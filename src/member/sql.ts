// SqlDb over a Durable Object's SQLite storage (ctx.storage.sql + transactionSync).
import type { SqlDb, SqlRow, SqlValue } from "../util/sql.ts";

function normalise(row: Record<string, SqlStorageValue>): SqlRow {
  const out: SqlRow = {};
  for (const k in row) {
    const v = row[k];
    out[k] = v instanceof ArrayBuffer ? new Uint8Array(v) : (v as SqlValue);
  }
  return out;
}

export function durableObjectDb(storage: DurableObjectStorage): SqlDb {
  const sql = storage.sql;
  return {
    all<T extends SqlRow>(query: string, ...binds: SqlValue[]): T[] {
      return sql.exec(query, ...binds).toArray().map(normalise) as T[];
    },
    first<T extends SqlRow>(query: string, ...binds: SqlValue[]): T | undefined {
      for (const row of sql.exec(query, ...binds)) return normalise(row) as T;
      return undefined;
    },
    run(query: string, ...binds: SqlValue[]): void {
      sql.exec(query, ...binds);
    },
    script(query: string): void {
      sql.exec(query);
    },
    transaction<T>(fn: () => T): T {
      return storage.transactionSync(fn);
    },
  };
}
