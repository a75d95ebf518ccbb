// HashKV: a CRC-32C over every revision <= rev that survives compaction, in revision
// order, so members can be compared whether or not their physical compaction has
// finished. (etcd hashes its bolt bucket; the numbers differ from etcd's but the
// semantics — what is included, the errors — are etcd's HashByRev.)
import { Errors } from "../server/errors.ts";
import { utf8 } from "../util/bytes.ts";
import type { SqlDb } from "../util/sql.ts";
import { crc32c } from "./crc32c.ts";
import { REVISION_COLUMNS, type RevisionRow } from "./kv.ts";

export interface HashKVResult {
  hash: number;
  compactRevision: number;
  /** The store's current revision (the response header revision). */
  revision: number;
}

const PAGE = 512;
// Rows <= ?3 after (?1, ?2); a row at or below the compaction revision ?4 counts only if
// compaction keeps it (newest <= ?4 of its key, not a tombstone).
const SQL_PAGE = `SELECT ${REVISION_COLUMNS} FROM kv_rev r
  WHERE (r.rev_main, r.rev_sub) > (?1, ?2) AND r.rev_main <= ?3
    AND (r.rev_main > ?4 OR (r.tombstone = 0 AND NOT EXISTS (
      SELECT 1 FROM kv_rev n WHERE n.key = r.key AND n.rev_main <= ?4 AND (n.rev_main, n.rev_sub) > (r.rev_main, r.rev_sub))))
  ORDER BY r.rev_main, r.rev_sub LIMIT ${PAGE}`;

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

export function hashKV(db: SqlDb, rev: number, currentRev: number, compactRev: number): HashKVResult {
  if (rev > 0 && rev <= compactRev) throw Errors.Compacted;
  if (rev > 0 && rev > currentRev) throw Errors.FutureRev;
  if (rev === 0) rev = currentRev;
  let h = crc32c(utf8("key"));
  let main = -1;
  let sub = -1;
  for (;;) {
    const rows = db.all<RevisionRow>(SQL_PAGE, main, sub, rev, compactRev);
    for (const r of rows) {
      h = crc32c(u64(r.rev_main), h);
      h = crc32c(u64(r.rev_sub), h);
      h = crc32c(u32(r.key.length), h);
      h = crc32c(r.key, h);
      h = crc32c(u64(r.create_rev), h);
      h = crc32c(u64(r.version), h);
      h = crc32c(u32(r.value.length), h);
      h = crc32c(r.value, h);
      h = crc32c(utf8(r.lease), h);
      h = crc32c(new Uint8Array([r.tombstone]), h);
    }
    if (rows.length < PAGE) break;
    const lastRow = rows[rows.length - 1]!;
    main = lastRow.rev_main;
    sub = lastRow.rev_sub;
  }
  return { hash: h, compactRevision: compactRev, revision: currentRev };
}
