// The applied state a raft snapshot carries: every row of the state tables (the applier's
// STATE_TABLES and the membership tables), captured in one synchronous turn on the sender,
// cut into chunks that never split a row, staged on the receiver and installed atomically.
//
// Staging is in SQLite tables, not memory: a transfer may be larger than a member's memory
// and may outlive the receiver's instance (eviction or restart between chunks). The staged
// rows sit beside the live state and are copied over it in the install transaction, so
// until then the old state is intact, and a transfer cut short is simply restarted.
import type { SqlDb, SqlRow, SqlValue } from "../util/sql.ts";
import { STATE_TABLES } from "./applier.ts";
import { MEMBERSHIP_TABLES } from "./membership.ts";

/** Every table of the replicated state, in the order they are shipped. */
export const SNAPSHOT_TABLES: readonly string[] = [...STATE_TABLES, ...MEMBERSHIP_TABLES];

/** Rows of one table; each row's values in `columns` order. */
export interface TableRows {
  table: string;
  columns: string[];
  rows: SqlValue[][];
}

export interface SnapshotChunk {
  tables: TableRows[];
}

/** Default chunk size: well under the 32 MiB RPC limit even with a ~2 MiB row on top. */
export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
const ROW_OVERHEAD_BYTES = 16;

function valueBytes(v: SqlValue): number {
  if (v === null) return 1;
  if (typeof v === "number") return 8;
  if (typeof v === "string") return v.length * 3;
  return v.byteLength;
}

/**
 * Reads every state row now (synchronously: nothing can apply in between) and cuts them into
 * chunks of about maxBytes each; a row larger than that travels alone in its chunk. There is
 * always at least one chunk.
 */
export function captureState(db: SqlDb, maxBytes = DEFAULT_CHUNK_BYTES): SnapshotChunk[] {
  const chunks: SnapshotChunk[] = [];
  let cur: SnapshotChunk = { tables: [] };
  let size = 0;
  for (const table of SNAPSHOT_TABLES) {
    const rows = db.all<SqlRow>(`SELECT * FROM ${table}`);
    if (rows.length === 0) continue;
    const columns = Object.keys(rows[0]!);
    let part: TableRows | null = null;
    for (const r of rows) {
      const values = columns.map((c) => r[c] ?? null);
      let bytes = ROW_OVERHEAD_BYTES;
      for (const v of values) bytes += valueBytes(v);
      if (size > 0 && size + bytes > maxBytes) {
        chunks.push(cur);
        cur = { tables: [] };
        size = 0;
        part = null;
      }
      if (!part) {
        part = { table, columns, rows: [] };
        cur.tables.push(part);
      }
      part.rows.push(values);
      size += bytes;
    }
  }
  chunks.push(cur);
  return chunks;
}

const STAGE_META = "snap_stage_meta";
const stageTable = (t: string) => `snap_stage_${t}`;
const quoteIdent = (c: string) => `"${c.replace(/"/g, '""')}"`;

/** The receiver's side: chunks of one transfer at a time, staged until installed. */
export class SnapshotStage {
  private readonly db: SqlDb;

  constructor(db: SqlDb) {
    this.db = db;
    db.script(`CREATE TABLE IF NOT EXISTS ${STAGE_META} (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;`);
  }

  /**
   * Stages chunk `seq` of transfer `xfer`. Chunk 0 starts a transfer (dropping whatever an
   * earlier one left). A chunk already staged is ignored; a chunk of another transfer, or
   * one that skips ahead, is refused (false): the sender fails and raft retries later.
   */
  stage(xfer: string, seq: number, chunk: SnapshotChunk): boolean {
    return this.db.transaction(() => {
      if (seq === 0) this.clear();
      else {
        const st = this.state();
        if (!st || st.xfer !== xfer || seq > st.next) return false;
        if (seq < st.next) return true;
      }
      if (seq === 0) for (const t of SNAPSHOT_TABLES) this.db.script(`CREATE TABLE ${stageTable(t)} AS SELECT * FROM ${t} WHERE 0;`);
      for (const part of chunk.tables) {
        if (!SNAPSHOT_TABLES.includes(part.table)) throw new Error(`snapshot: unknown table ${part.table}`);
        const sql = `INSERT INTO ${stageTable(part.table)} (${part.columns.map(quoteIdent).join(", ")}) VALUES (${part.columns.map(() => "?").join(", ")})`;
        for (const row of part.rows) this.db.run(sql, ...row);
      }
      this.setState({ xfer, next: seq + 1 });
      return true;
    });
  }

  /** True when transfer xfer has staged exactly `chunks` chunks. */
  complete(xfer: string, chunks: number): boolean {
    const st = this.state();
    return st !== undefined && st.xfer === xfer && st.next === chunks;
  }

  /**
   * Replaces every state table with the staged rows of transfer xfer and drops the staging.
   * Call inside the caller's transaction (with the raft storage's installSnapshot).
   */
  install(xfer: string): void {
    const st = this.state();
    if (!st || st.xfer !== xfer) throw new Error(`snapshot: transfer ${xfer} is not staged`);
    for (const t of SNAPSHOT_TABLES) {
      this.db.run(`DELETE FROM ${t}`);
      this.db.run(`INSERT INTO ${t} SELECT * FROM ${stageTable(t)}`);
    }
    this.clear();
  }

  /** Drops any staged transfer. */
  clear(): void {
    for (const t of SNAPSHOT_TABLES) this.db.script(`DROP TABLE IF EXISTS ${stageTable(t)};`);
    this.db.run(`DELETE FROM ${STAGE_META}`);
  }

  private state(): { xfer: string; next: number } | undefined {
    const row = this.db.first<{ v: string }>(`SELECT v FROM ${STAGE_META} WHERE k = 'transfer'`);
    return row ? (JSON.parse(row.v) as { xfer: string; next: number }) : undefined;
  }

  private setState(s: { xfer: string; next: number }): void {
    this.db.run(
      `INSERT INTO ${STAGE_META} (k, v) VALUES ('transfer', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`,
      JSON.stringify(s),
    );
  }
}
