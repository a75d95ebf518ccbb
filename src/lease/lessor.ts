// etcd's lessor (lease/lessor.go) over SqlDb with injected time.
//
// Replicated state (granted leases, TTLs, checkpoints) lives in the lease table and is
// changed only by applied raft entries: grant, revoke, checkpoint. Expiry times are
// in-memory and exist only while this member is the primary (the raft leader): promote()
// starts every lease's clock, demote() stops them ("forever"). The primary finds expired
// leases with expiredLeases(nowMs) and proposes their revocation through the log; it never
// deletes anything by itself.
import { Errors } from "../server/errors.ts";
import type { SqlDb } from "../util/sql.ts";
import { initLeaseSchema } from "./schema.ts";

/** etcd's MaxLeaseTTL, in seconds. */
export const MAX_LEASE_TTL_SECONDS = 9_000_000_000;
/** etcd's leaseRevokeRate: leases revoked per second at most. */
export const LEASE_REVOKE_RATE = 1000;
/** etcd's expiredLeaseRetryInterval: an expired lease is offered again after this. */
export const EXPIRED_LEASE_RETRY_MS = 3000;
/** What TimeToLive reports for a lease without expiry (Go: int64(MaxInt64 ns in seconds)). */
export const FOREVER_TTL_SECONDS = 9223372036;

/** Where a lease's keys are (the MVCC store's live keys). */
export interface LeaseKeyIndex {
  keysWithLease(leaseText: string): Uint8Array[];
}

export interface LessorOptions {
  /** Grants below this are raised to it (etcd: ceil(1.5 × election timeout)). */
  minTtlSeconds: number;
  /**
   * How often the primary records remaining TTLs through the log (etcd's
   * --experimental-lease-checkpoint-interval), default 5 s. Only leases with more than this
   * left are checkpointed (etcd's rule), so short leases cost nothing.
   */
  checkpointIntervalMs?: number;
}

/** Default checkpoint interval (etcd's default is 5 minutes; leases here are often short). */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 5000;
/** Checkpoints per proposed entry at most (etcd's maxLeaseCheckpointBatchSize). */
export const MAX_CHECKPOINT_BATCH = 1000;

export interface LeaseInfo {
  id: bigint;
  ttlSeconds: number;
  remainingTtlSeconds: number;
}

export type RenewResult =
  | { kind: "ok"; ttlSeconds: number; clearCheckpoint: boolean }
  /** Not the primary: forward to the leader. */
  | { kind: "notPrimary" }
  /** Unknown lease: keepalive answers TTL 0. */
  | { kind: "notFound" }
  /** Expired, revocation pending: etcd waits for the revoke (then notFound) or demotion. */
  | { kind: "expired" };

export interface TimeToLive {
  ID: bigint;
  TTL: number;
  grantedTTL: number;
  keys: Uint8Array[];
}

interface Clock {
  expiryMs: number;
  /** When expiredLeases() looks at it next (expiry, then retries). */
  checkMs: number;
}

interface HeapItem {
  id: string;
  atMs: number;
}

const SQL_GET = "SELECT ttl_seconds, remaining_ttl_seconds FROM lease WHERE id = ?";
const SQL_INSERT = "INSERT INTO lease (id, ttl_seconds, remaining_ttl_seconds) VALUES (?, ?, 0)";
const SQL_DELETE = "DELETE FROM lease WHERE id = ?";
const SQL_CHECKPOINT = "UPDATE lease SET remaining_ttl_seconds = ? WHERE id = ?";
const SQL_ALL = "SELECT id, ttl_seconds, remaining_ttl_seconds FROM lease";
const SQL_COUNT = "SELECT count(*) AS n FROM lease";

export class Lessor {
  private readonly db: SqlDb;
  private readonly keyIndex: LeaseKeyIndex;
  private readonly minTtlSeconds: number;
  private readonly checkpointIntervalMs: number;
  private primary = false;
  /** Primary only: when checkpointsDue() next looks. */
  private nextCheckpointMs = 0;
  /** Primary only: leases with a checkpoint proposed and not yet applied. */
  private pendingCheckpoints = new Set<string>();
  private clocks = new Map<string, Clock>();
  private heap: HeapItem[] = [];
  /** Undo records for the in-memory clocks while a db transaction is open. */
  private journal: Array<[string, Clock | undefined]> | null = null;

  constructor(db: SqlDb, keyIndex: LeaseKeyIndex, opts: LessorOptions) {
    this.db = db;
    this.keyIndex = keyIndex;
    this.minTtlSeconds = opts.minTtlSeconds;
    this.checkpointIntervalMs = opts.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    initLeaseSchema(db);
  }

  // ---- replicated operations (called while applying entries) ----

  /** etcd's Grant. id must be chosen already (0 is rejected as etcd does). */
  grant(id: bigint, ttlSeconds: number, nowMs: number): LeaseInfo {
    if (id === 0n) throw Errors.LeaseNotFound;
    if (ttlSeconds > MAX_LEASE_TTL_SECONDS) throw Errors.LeaseTTLTooLarge;
    const text = id.toString();
    if (this.db.first(SQL_GET, text)) throw Errors.LeaseExist;
    const ttl = Math.max(ttlSeconds, this.minTtlSeconds);
    this.db.run(SQL_INSERT, text, ttl);
    if (this.primary) this.setClock(text, nowMs + ttl * 1000);
    return { id, ttlSeconds: ttl, remainingTtlSeconds: 0 };
  }

  /**
   * etcd's Revoke: deleteKeys must delete every key attached to the lease in one MVCC
   * write txn (one revision). Throws LeaseNotFound.
   */
  revoke(id: bigint, deleteKeys: (leaseText: string) => void): void {
    const text = id.toString();
    if (id === 0n || !this.db.first(SQL_GET, text)) throw Errors.LeaseNotFound;
    deleteKeys(text);
    this.db.run(SQL_DELETE, text);
    this.setClock(text, undefined);
  }

  /** etcd's Checkpoint: records the remaining TTL; unknown leases are ignored. */
  checkpoint(id: bigint, remainingTtlSeconds: number): void {
    this.db.run(SQL_CHECKPOINT, remainingTtlSeconds, id.toString());
    this.pendingCheckpoints.delete(id.toString());
  }

  // ---- lookups ----

  lookup(id: bigint): LeaseInfo | undefined {
    if (id === 0n) return undefined;
    const row = this.db.first<{ ttl_seconds: number; remaining_ttl_seconds: number }>(SQL_GET, id.toString());
    if (!row) return undefined;
    return { id, ttlSeconds: Math.max(row.ttl_seconds, this.minTtlSeconds), remainingTtlSeconds: row.remaining_ttl_seconds };
  }

  exists(id: bigint): boolean {
    return id !== 0n && this.db.first(SQL_GET, id.toString()) !== undefined;
  }

  /** Keys attached to the lease, ascending. */
  keys(id: bigint): Uint8Array[] {
    return this.keyIndex.keysWithLease(id.toString());
  }

  /**
   * etcd's LeaseTimeToLive as the primary answers it: TTL is the remaining time truncated
   * to whole seconds (9223372036 when the lease has no expiry, i.e. not primary).
   * undefined for an unknown lease (the API answers TTL -1 then).
   */
  timeToLive(id: bigint, nowMs: number, withKeys: boolean): TimeToLive | undefined {
    const info = this.lookup(id);
    if (!info) return undefined;
    return {
      ID: id,
      TTL: this.remainingSeconds(id.toString(), nowMs),
      grantedTTL: info.ttlSeconds,
      keys: withKeys ? this.keys(id) : [],
    };
  }

  /** All leases, soonest expiry first (ties and non-primary: by ID). */
  leases(nowMs: number): bigint[] {
    const rows = this.db.all<{ id: string }>(SQL_ALL);
    const items = rows.map((r) => ({ id: BigInt(r.id), remainingMs: this.remainingMs(r.id, nowMs) }));
    items.sort((a, b) => a.remainingMs - b.remainingMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return items.map((i) => i.id);
  }

  // ---- primary-only clock ----

  isPrimary(): boolean {
    return this.primary;
  }

  /**
   * etcd's Promote: this member became the primary. Every lease expires extendMs after its
   * (remaining) TTL from now; with many leases, expiries are spread so at most 3/4 of the
   * revoke rate fall in any second.
   */
  promote(nowMs: number, extendMs: number): void {
    this.primary = true;
    this.clocks = new Map();
    this.heap = [];
    this.pendingCheckpoints = new Set();
    this.nextCheckpointMs = nowMs + this.checkpointIntervalMs;
    const rows = this.db.all<{ id: string; ttl_seconds: number; remaining_ttl_seconds: number }>(SQL_ALL);
    const ttlOf = (r: { ttl_seconds: number; remaining_ttl_seconds: number }) =>
      r.remaining_ttl_seconds > 0 ? r.remaining_ttl_seconds : Math.max(r.ttl_seconds, this.minTtlSeconds);
    for (const r of rows) this.setClock(r.id, nowMs + extendMs + ttlOf(r) * 1000);
    if (rows.length < LEASE_REVOKE_RATE) return;
    const sorted = rows
      .map((r) => ({ r, remaining: this.clocks.get(r.id)!.expiryMs - nowMs }))
      .sort((a, b) => a.remaining - b.remaining || (a.r.id < b.r.id ? -1 : 1));
    let baseWindow = sorted[0]!.remaining;
    let nextWindow = baseWindow + 1000;
    let expires = 0;
    const target = Math.floor((3 * LEASE_REVOKE_RATE) / 4);
    for (const { r, remaining } of sorted) {
      if (remaining > nextWindow) {
        baseWindow = remaining;
        nextWindow = baseWindow + 1000;
        expires = 1;
        continue;
      }
      expires++;
      if (expires <= target) continue;
      const delay = 1000 * (expires / target) - (remaining - baseWindow);
      nextWindow = baseWindow + delay;
      this.setClock(r.id, nowMs + delay + extendMs + ttlOf(r) * 1000);
    }
  }

  /** etcd's Demote: no expiries any more. */
  demote(): void {
    this.primary = false;
    this.clocks = new Map();
    this.heap = [];
    this.pendingCheckpoints = new Set();
  }

  /** etcd's Renew (keepalive), on the primary only. */
  renew(id: bigint, nowMs: number): RenewResult {
    if (!this.primary) return { kind: "notPrimary" };
    const info = this.lookup(id);
    if (!info) return { kind: "notFound" };
    const text = id.toString();
    const clock = this.clocks.get(text);
    if (clock && clock.expiryMs <= nowMs) return { kind: "expired" };
    this.setClock(text, nowMs + info.ttlSeconds * 1000);
    // A recorded (or about to be recorded) remaining TTL is now too short: the renewal must
    // clear it through the log before it is answered, or a new leader could expire the
    // lease early. At most once per checkpoint interval per lease.
    const clearCheckpoint = info.remainingTtlSeconds > 0 || this.pendingCheckpoints.has(text);
    return { kind: "ok", ttlSeconds: info.ttlSeconds, clearCheckpoint };
  }

  /**
   * etcd's checkpoint scheduling, batched: every checkpoint interval the primary records the
   * remaining TTL (whole seconds, rounded up: never early) of each lease with more than one
   * interval left. The caller proposes them as leaseCheckpoint entries; a new primary then
   * starts those leases from the recorded remaining TTL instead of the full TTL.
   */
  checkpointsDue(nowMs: number): Array<{ ID: bigint; remainingTtlSeconds: number }> {
    const out: Array<{ ID: bigint; remainingTtlSeconds: number }> = [];
    if (!this.primary || this.checkpointIntervalMs <= 0 || nowMs < this.nextCheckpointMs) return out;
    this.nextCheckpointMs = nowMs + this.checkpointIntervalMs;
    for (const [id, clock] of this.clocks) {
      const remainingMs = clock.expiryMs - nowMs;
      if (remainingMs <= this.checkpointIntervalMs) continue;
      out.push({ ID: BigInt(id), remainingTtlSeconds: Math.ceil(remainingMs / 1000) });
      this.pendingCheckpoints.add(id);
    }
    return out;
  }

  /**
   * Leases whose expiry has passed, at most `limit` (etcd offers 500 per 500 ms). Each one
   * returned is offered again only after EXPIRED_LEASE_RETRY_MS, unless renewed or revoked.
   */
  expiredLeases(nowMs: number, limit = LEASE_REVOKE_RATE / 2): bigint[] {
    const out: bigint[] = [];
    if (!this.primary) return out;
    while (this.heap.length > 0 && out.length < limit) {
      const top = this.heap[0]!;
      const clock = this.clocks.get(top.id);
      if (!clock || clock.checkMs !== top.atMs) {
        heapPop(this.heap);
        continue;
      }
      if (top.atMs > nowMs) break;
      heapPop(this.heap);
      const retry = { expiryMs: clock.expiryMs, checkMs: nowMs + EXPIRED_LEASE_RETRY_MS };
      this.putClock(top.id, retry);
      if (clock.expiryMs <= nowMs) out.push(BigInt(top.id));
    }
    return out;
  }

  /**
   * When expiredLeases() can next return something (ms), for scheduling the member's
   * alarm; undefined when not primary or no lease has a clock.
   */
  nextCheckMs(): number | undefined {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      const clock = this.clocks.get(top.id);
      if (clock && clock.checkMs === top.atMs) return top.atMs;
      heapPop(this.heap);
    }
    return undefined;
  }

  /** Number of granted leases (cheap). */
  count(): number {
    return this.db.first<{ n: number }>(SQL_COUNT)!.n;
  }

  // ---- transaction support for the in-memory clocks ----

  /** Starts recording clock changes so rollback() can undo them. */
  begin(): void {
    this.journal = [];
  }

  commit(): void {
    this.journal = null;
  }

  rollback(): void {
    const j = this.journal;
    this.journal = null;
    if (!j) return;
    for (let i = j.length - 1; i >= 0; i--) {
      const [id, prev] = j[i]!;
      if (prev) this.putClock(id, prev);
      else this.clocks.delete(id);
    }
  }

  // ---- internals ----

  private remainingMs(id: string, nowMs: number): number {
    const clock = this.primary ? this.clocks.get(id) : undefined;
    return clock ? clock.expiryMs - nowMs : Number.MAX_SAFE_INTEGER;
  }

  private remainingSeconds(id: string, nowMs: number): number {
    const clock = this.primary ? this.clocks.get(id) : undefined;
    if (!clock) return FOREVER_TTL_SECONDS;
    return Math.trunc((clock.expiryMs - nowMs) / 1000);
  }

  private setClock(id: string, expiryMs: number | undefined): void {
    if (expiryMs === undefined) {
      if (this.journal && this.clocks.has(id)) this.journal.push([id, this.clocks.get(id)]);
      this.clocks.delete(id);
      return;
    }
    this.putClock(id, { expiryMs, checkMs: expiryMs });
  }

  private putClock(id: string, clock: Clock): void {
    if (this.journal) this.journal.push([id, this.clocks.get(id)]);
    this.clocks.set(id, clock);
    heapPush(this.heap, { id, atMs: clock.checkMs });
    // Renewals leave stale heap items behind; rebuild when they dominate.
    if (this.heap.length > 4 * this.clocks.size + 64) {
      this.heap = [];
      for (const [cid, c] of this.clocks) heapPush(this.heap, { id: cid, atMs: c.checkMs });
    }
  }
}

function heapPush(h: HeapItem[], item: HeapItem): void {
  h.push(item);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p]!.atMs <= h[i]!.atMs) break;
    [h[p], h[i]] = [h[i]!, h[p]!];
    i = p;
  }
}

function heapPop(h: HeapItem[]): HeapItem | undefined {
  const top = h[0];
  const last = h.pop();
  if (h.length > 0 && last) {
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]!.atMs < h[m]!.atMs) m = l;
      if (r < h.length && h[r]!.atMs < h[m]!.atMs) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
  return top;
}
