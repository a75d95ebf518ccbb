// The change history as watch events (etcd's kvsToEvents over the key bucket), read by
// revision range, plus the prev_kv lookup etcd's watch server does per event.
import type { Event, KeyValue } from "../server/types.ts";
import { EMPTY_BYTES } from "../util/bytes.ts";
import { REVISION_COLUMNS, rowToKeyValue, type RevisionRow } from "./kv.ts";
import type { MvccStore } from "./store.ts";

export interface EventsPage {
  events: Event[];
  /** The first revision not yet returned (fromRev of the next call). */
  nextRev: number;
  /** True when every revision up to toRev has been returned. */
  done: boolean;
}

const SQL_PAGE = `SELECT ${REVISION_COLUMNS} FROM kv_rev WHERE rev_main >= ?1 AND rev_main <= ?2 ORDER BY rev_main, rev_sub LIMIT ?3`;
const SQL_REST_OF_REV = `SELECT ${REVISION_COLUMNS} FROM kv_rev WHERE rev_main = ?1 AND rev_sub > ?2 ORDER BY rev_sub`;

function rowToEvent(r: RevisionRow): Event {
  if (r.tombstone) {
    return {
      type: "DELETE",
      kv: { key: r.key, createRevision: 0, modRevision: r.rev_main, version: 0, value: EMPTY_BYTES, lease: 0n },
    };
  }
  return { type: "PUT", kv: rowToKeyValue(r) };
}

export function eventsBetween(store: MvccStore, fromRev: number, toRev: number, limit: number, prevKv: boolean): EventsPage {
  const db = store.db;
  const max = Math.max(1, limit);
  const rows = db.all<RevisionRow>(SQL_PAGE, fromRev, toRev, max);
  let nextRev = toRev + 1;
  let done = true;
  if (rows.length === max) {
    // Never split a revision: finish the last one, stop after it.
    const lastRow = rows[rows.length - 1]!;
    rows.push(...db.all<RevisionRow>(SQL_REST_OF_REV, lastRow.rev_main, lastRow.rev_sub));
    nextRev = lastRow.rev_main + 1;
    done = nextRev > toRev;
  }
  const events = rows.map(rowToEvent);
  if (prevKv) {
    for (const ev of events) {
      const prev = prevKvOf(store, ev.kv.key, ev.kv.modRevision, ev);
      if (prev) ev.prevKv = prev;
    }
  }
  return { events, nextRev, done };
}

/**
 * etcd's watch prev_kv: nothing for a create event (PUT with create == mod); otherwise the
 * key as of modRevision - 1, unless that revision has been compacted.
 */
export function prevKvOf(store: MvccStore, key: Uint8Array, modRevision: number, ev?: Event): KeyValue | undefined {
  if (ev && ev.type === "PUT" && ev.kv.createRevision === ev.kv.modRevision) return undefined;
  try {
    const r = store.range(key, null, { rev: modRevision - 1 });
    return r.kvs[0];
  } catch {
    return undefined;
  }
}
