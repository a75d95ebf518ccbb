// The lease table (etcd's "lease" bucket). Attachments are not stored here: the keys of a
// lease are the live keys whose kv_latest.lease names it (see src/mvcc/schema.ts).
import type { SqlDb } from "../util/sql.ts";

export const LEASE_SCHEMA = `
-- One row per granted, not yet revoked lease. Invariants:
--  * id is the lease ID as decimal TEXT, a positive int64 (never '0');
--  * ttl_seconds is the granted TTL after raising it to the minimum TTL, <= 9000000000;
--  * remaining_ttl_seconds is the last checkpointed remaining TTL, 0 = none (use ttl).
-- Expiry times are not stored: only the primary lessor (on the raft leader) holds them,
-- in memory, and a new primary restarts every lease's clock (etcd's Promote).
CREATE TABLE IF NOT EXISTS lease (
  id TEXT PRIMARY KEY,
  ttl_seconds INTEGER NOT NULL,
  remaining_ttl_seconds INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
`;

export function initLeaseSchema(db: SqlDb): void {
  db.script(LEASE_SCHEMA);
}
