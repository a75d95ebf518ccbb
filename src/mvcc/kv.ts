// Row ↔ KeyValue conversion and lease ID text form (leases are stored as decimal TEXT).
import type { KeyValue } from "../server/types.ts";
import type { KvRow } from "./queries.ts";

export const NO_LEASE = "0";

export function leaseToText(id: bigint): string {
  return id === 0n ? NO_LEASE : id.toString();
}

export function leaseFromText(s: string): bigint {
  return s === NO_LEASE ? 0n : BigInt(s);
}

/** A whole kv_rev row: one change at (rev_main, rev_sub), a put or a tombstone. */
export interface RevisionRow extends KvRow {
  rev_sub: number;
  tombstone: number;
}

/** The kv_rev columns a RevisionRow is read from. */
export const REVISION_COLUMNS = "rev_main, rev_sub, key, create_rev, version, value, lease, tombstone";

export function rowToKeyValue(row: KvRow): KeyValue {
  return {
    key: row.key,
    createRevision: row.create_rev,
    modRevision: row.rev_main,
    version: row.version,
    value: row.value,
    lease: leaseFromText(row.lease),
  };
}
