// The apply layer of one member: runs committed raft entries against MVCC and the lessor,
// exactly once each, and serves the reads etcd serves without raft (Range, read-only Txn,
// lease TimeToLive / Leases / keepalive on the primary).
//
// Exactly-once: an entry's effects and the consistent index (its raft index) commit in one
// db.transaction; entries at or below the consistent index are skipped, so replaying the
// log after a crash applies nothing twice. A batch of entries shares one transaction.
//
// Apply-time errors (etcd returns them from apply: unknown lease, ignore_value on a missing
// key, compaction errors, lease exists, ...) are results, never partial writes: every check
// runs before the first write, and the index advances either way.
import { MvccStore, type MvccWriteTxn } from "../mvcc/store.ts";
import { readMeta, writeMeta } from "../mvcc/schema.ts";
import { Lessor, type RenewResult } from "../lease/lessor.ts";
import type { SqlDb } from "../util/sql.ts";
import { EtcdError, Errors, GrpcCode } from "./errors.ts";
import { decodeInternalRequest, type InternalOp, type InternalRequest, type LeaseCheckpointRequest } from "./internal_request.ts";
import { applyDeleteRange, applyPut, applyRange, revisionHeader } from "./kv_apply.ts";
import { applyTxnOps, checkTxnRequests, compareToPath, isTxnReadOnly, type TxnEnv } from "./txn_apply.ts";
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  ResponseHeader,
  TxnRequest,
  TxnResponse,
} from "./types.ts";

export interface RaftEntry {
  index: number;
  term: number;
  /** An encoded InternalRequest; empty for raft's no-op entries. */
  data: Uint8Array;
}

export interface ApplierOptions {
  /** Lease grants below this TTL are raised to it (etcd: ceil(1.5 × election timeout), 2 s by default). */
  minLeaseTtlSeconds: number;
  /** How often the primary lessor checkpoints remaining TTLs (default 5 s; see Lessor). */
  leaseCheckpointIntervalMs?: number;
  /** Rows per physical compaction batch (default 1000). */
  compactionBatchRows?: number;
  /**
   * Leave the physical deletion of a compaction to compactionStep() calls instead of
   * finishing it inside the apply transaction (results are identical either way).
   */
  deferPhysicalCompaction?: boolean;
}

export interface LeaseCheckpointResponse {
  header?: ResponseHeader;
}

type Ok<O extends InternalOp, R> = { op: O; id: number; response: R; error?: undefined };
export type ApplySuccess =
  | Ok<"put", PutResponse>
  | Ok<"deleteRange", DeleteRangeResponse>
  | Ok<"txn", TxnResponse>
  | (Ok<"compaction", CompactionResponse> & { physicalDone: boolean })
  | Ok<"leaseGrant", LeaseGrantResponse>
  | Ok<"leaseRevoke", LeaseRevokeResponse>
  | Ok<"leaseCheckpoint", LeaseCheckpointResponse>;
export type ApplyFailure = { op: InternalOp; id: number; error: EtcdError; response?: undefined };
/**
 * The outcome of one applied request. Response headers carry only `revision`; the member
 * fills cluster_id, member_id and raft_term. Nested txn responses keep etcd's own headers.
 */
export type ApplyResult = ApplySuccess | ApplyFailure;

/**
 * The tables that make up the applied state (what a raft snapshot must carry, all of them
 * together). kv_meta includes the consistent index and applied term.
 */
export const STATE_TABLES = ["kv_rev", "kv_latest", "kv_meta", "lease"] as const;

/** The result of an expiry revoke from a stale leadership (no client waits for it). */
export const STALE_EXPIRY = new EtcdError(GrpcCode.FailedPrecondition, "etcdserver: lease expiry from a deposed leader ignored");

/** Thrown for an EtcdError raised after something was written (a bug): rolls the batch back. */
class PartialApplyError extends Error {}

export class Applier {
  readonly db: SqlDb;
  readonly mvcc: MvccStore;
  readonly lessor: Lessor;
  private readonly deferCompaction: boolean;
  private appliedIndex: number;
  private term: number;
  private readonly txnEnv: TxnEnv;

  constructor(db: SqlDb, opts: ApplierOptions) {
    this.db = db;
    this.mvcc = new MvccStore(db, { compactionBatchRows: opts.compactionBatchRows });
    this.lessor = new Lessor(db, this.mvcc, {
      minTtlSeconds: opts.minLeaseTtlSeconds,
      checkpointIntervalMs: opts.leaseCheckpointIntervalMs,
    });
    this.deferCompaction = opts.deferPhysicalCompaction ?? false;
    this.appliedIndex = readMeta(db, "consistent_index");
    this.term = readMeta(db, "applied_term");
    this.txnEnv = {
      leaseExists: (id) => this.lessor.exists(id),
      compactRev: () => this.mvcc.compactRev(),
    };
  }

  /**
   * Re-reads everything cached from the tables, after they were replaced wholesale (a raft
   * snapshot was installed). The lessor is demoted; promote() again if this member leads.
   */
  reload(): void {
    this.mvcc.reload();
    this.appliedIndex = readMeta(this.db, "consistent_index");
    this.term = readMeta(this.db, "applied_term");
    this.lessor.demote();
  }

  /** The raft index of the last applied entry (0 for a new member). */
  consistentIndex(): number {
    return this.appliedIndex;
  }

  /** The term of the last applied entry. */
  appliedTerm(): number {
    return this.term;
  }

  /** The store's current revision. */
  revision(): number {
    return this.mvcc.rev();
  }

  // ---- applying the log ----

  /**
   * Applies one committed entry. Returns undefined for entries already applied (index <=
   * consistentIndex) and for no-op entries; otherwise the request's result. nowMs is the
   * member's clock, used only by a primary lessor (lease expiry of a grant).
   */
  apply(entry: RaftEntry, nowMs = 0): ApplyResult | undefined {
    return this.applyBatch([entry], nowMs)[0];
  }

  /** Applies entries in order in one transaction; one result slot per entry. */
  applyBatch(entries: RaftEntry[], nowMs = 0): Array<ApplyResult | undefined> {
    if (entries.length === 0) return [];
    this.lessor.begin();
    try {
      const results = this.db.transaction(() => {
        const out: Array<ApplyResult | undefined> = [];
        let index = this.appliedIndex;
        let term = this.term;
        for (const e of entries) {
          if (e.index <= index) {
            out.push(undefined);
            continue;
          }
          out.push(e.data.length === 0 ? undefined : this.applyRequest(decodeInternalRequest(e.data), nowMs, e.term));
          index = e.index;
          term = e.term;
        }
        if (index !== this.appliedIndex) writeMeta(this.db, "consistent_index", index);
        if (term !== this.term) writeMeta(this.db, "applied_term", term);
        return { out, index, term };
      });
      this.appliedIndex = results.index;
      this.term = results.term;
      this.lessor.commit();
      return results.out;
    } catch (err) {
      this.lessor.rollback();
      this.mvcc.reload();
      this.appliedIndex = readMeta(this.db, "consistent_index");
      this.term = readMeta(this.db, "applied_term");
      throw err;
    }
  }

  /** Runs one request inside the caller's transaction; entryTerm is its raft entry's term. */
  applyRequest(r: InternalRequest, nowMs = 0, entryTerm?: number): ApplyResult {
    const revBefore = this.mvcc.rev();
    try {
      switch (r.op) {
        case "put":
          return { op: r.op, id: r.id, response: this.put(r.request) };
        case "deleteRange":
          return { op: r.op, id: r.id, response: this.deleteRange(r.request) };
        case "txn":
          return { op: r.op, id: r.id, response: this.txn(r.request) };
        case "compaction": {
          const response = this.compaction(r.request);
          return { op: r.op, id: r.id, response, physicalDone: !this.mvcc.compactionPending() };
        }
        case "leaseGrant":
          return { op: r.op, id: r.id, response: this.leaseGrant(r.request, nowMs) };
        case "leaseRevoke":
          // An expiry decided by a leadership other than the one that appended the entry
          // (a deposed leader's revoke, forwarded or re-proposed) never applies.
          if (r.leaderTerm !== undefined && entryTerm !== undefined && r.leaderTerm !== entryTerm) {
            return { op: r.op, id: r.id, error: STALE_EXPIRY };
          }
          return { op: r.op, id: r.id, response: this.leaseRevoke(r.request) };
        case "leaseCheckpoint":
          return { op: r.op, id: r.id, response: this.leaseCheckpoint(r.request) };
      }
    } catch (err) {
      if (err instanceof EtcdError) {
        if (this.mvcc.rev() !== revBefore) throw new PartialApplyError(`apply failed after writing: ${err.message}`);
        return { op: r.op, id: r.id, error: err };
      }
      throw err;
    }
    throw new Error(`unknown internal request ${(r as { op: string }).op}`);
  }

  private put(p: PutRequest): PutResponse {
    // Standalone put: the lease is checked before ignore_* (etcd's order).
    if (p.lease !== 0n && !this.lessor.exists(p.lease)) throw Errors.LeaseNotFound;
    const txn = this.mvcc.beginWrite();
    try {
      return applyPut(txn, p);
    } finally {
      txn.end();
    }
  }

  private deleteRange(r: DeleteRangeRequest): DeleteRangeResponse {
    const txn = this.mvcc.beginWrite();
    try {
      return applyDeleteRange(txn, r);
    } finally {
      txn.end();
    }
  }

  private txn(r: TxnRequest): TxnResponse {
    const isWrite = !isTxnReadOnly(r);
    const path = compareToPath(this.mvcc, r);
    checkTxnRequests(this.mvcc, this.txnEnv, r, path, isWrite);
    if (!isWrite) return this.readTxn(r, path);
    const txn: MvccWriteTxn = this.mvcc.beginWrite();
    try {
      const responses = applyTxnOps(txn, r, path);
      return { header: revisionHeader(txn.rev()), succeeded: path.succeeded, responses };
    } finally {
      txn.end();
    }
  }

  private readTxn(r: TxnRequest, path: ReturnType<typeof compareToPath>): TxnResponse {
    const view = {
      rev: () => this.mvcc.rev(),
      range: this.mvcc.range.bind(this.mvcc),
      put: (): number => {
        throw new Error("put in a read-only txn");
      },
      deleteRange: (): [number, number] => {
        throw new Error("delete in a read-only txn");
      },
    };
    const responses = applyTxnOps(view, r, path);
    return { header: revisionHeader(this.mvcc.rev()), succeeded: path.succeeded, responses };
  }

  private compaction(c: CompactionRequest): CompactionResponse {
    this.mvcc.compact(c.revision, this.deferCompaction);
    return { header: revisionHeader(this.mvcc.rev()) };
  }

  private leaseGrant(r: LeaseGrantRequest, nowMs: number): LeaseGrantResponse {
    const l = this.lessor.grant(r.ID, r.TTL, nowMs);
    return { header: revisionHeader(this.mvcc.rev()), ID: l.id, TTL: l.ttlSeconds, error: "" };
  }

  private leaseRevoke(r: LeaseRevokeRequest): LeaseRevokeResponse {
    this.lessor.revoke(r.ID, (leaseText) => {
      const txn = this.mvcc.beginWrite();
      txn.deleteLeaseKeys(leaseText);
      txn.end();
    });
    return { header: revisionHeader(this.mvcc.rev()) };
  }

  private leaseCheckpoint(r: LeaseCheckpointRequest): LeaseCheckpointResponse {
    for (const c of r.checkpoints) this.lessor.checkpoint(c.ID, c.remainingTtlSeconds);
    return { header: revisionHeader(this.mvcc.rev()) };
  }

  // ---- reads served without raft ----

  /** Range at the current revision (linearizable reads wait for the read index first). Throws. */
  range(r: RangeRequest): RangeResponse {
    return applyRange(this.mvcc, r);
  }

  /** A txn whose branches only read (isTxnReadOnly), served locally as etcd does. Throws. */
  readOnlyTxn(r: TxnRequest): TxnResponse {
    if (!isTxnReadOnly(r)) throw new Error("readOnlyTxn given a txn that writes");
    const path = compareToPath(this.mvcc, r);
    checkTxnRequests(this.mvcc, this.txnEnv, r, path, false);
    return this.readTxn(r, path);
  }

  /**
   * LeaseTimeToLive as answered by the primary (the leader; other members forward):
   * unknown lease → TTL -1, no error (etcd 3.4's gRPC layer).
   */
  leaseTimeToLive(r: LeaseTimeToLiveRequest, nowMs: number): LeaseTimeToLiveResponse {
    const ttl = this.lessor.timeToLive(r.ID, nowMs, r.keys);
    const header = revisionHeader(this.mvcc.rev());
    if (!ttl) return { header, ID: r.ID, TTL: -1, grantedTTL: 0, keys: [] };
    return { header, ID: ttl.ID, TTL: ttl.TTL, grantedTTL: ttl.grantedTTL, keys: ttl.keys };
  }

  /** LeaseLeases, served by any member from its own lessor. */
  leaseLeases(nowMs: number): LeaseLeasesResponse {
    return { header: revisionHeader(this.mvcc.rev()), leases: this.lessor.leases(nowMs).map((ID) => ({ ID })) };
  }

  /**
   * Keepalive on this member's lessor. ok → answer TTL; notFound → answer TTL 0;
   * notPrimary → forward to the leader; expired → wait for the revoke to apply (then
   * notFound) or for demotion (then forward).
   */
  leaseRenew(id: bigint, nowMs: number): RenewResult {
    return this.lessor.renew(id, nowMs);
  }

  /** This member became leader and applied everything of the previous terms. */
  promote(nowMs: number, extendMs: number): void {
    this.lessor.promote(nowMs, extendMs);
  }

  /** This member stopped being leader. */
  demote(): void {
    this.lessor.demote();
  }

  /** Expired leases to revoke through raft (primary only); see leaseRevokeRequest(). */
  expiredLeases(nowMs: number, limit?: number): bigint[] {
    return this.lessor.expiredLeases(nowMs, limit);
  }

  /** Remaining TTLs the primary should checkpoint now (see Lessor.checkpointsDue). */
  leaseCheckpointsDue(nowMs: number): Array<{ ID: bigint; remainingTtlSeconds: number }> {
    return this.lessor.checkpointsDue(nowMs);
  }

  /** When expiredLeases() can next find something (ms); undefined if nothing can expire. */
  nextLeaseCheckMs(): number | undefined {
    return this.lessor.nextCheckMs();
  }

  /** Number of granted leases. */
  leaseCount(): number {
    return this.lessor.count();
  }

  // ---- maintenance ----

  /** True while a compaction's physical deletion is unfinished (also after a restart). */
  compactionPending(): boolean {
    return this.mvcc.compactionPending();
  }

  /** Runs one batch of a deferred physical compaction in its own transaction; true when none is left. */
  compactionStep(): boolean {
    return this.db.transaction(() => this.mvcc.compactionStep());
  }

  hashKV(revision: number): { hash: number; compactRevision: number; revision: number } {
    return this.mvcc.hashKV(revision);
  }
}

/**
 * The proposal that revokes an expired lease (etcd's lessor → LeaseRevoke through raft).
 * leaderTerm: the term of the leadership whose lessor found it expired.
 */
export function leaseRevokeRequest(requestId: number, leaseId: bigint, leaderTerm?: number): InternalRequest {
  return leaderTerm === undefined
    ? { op: "leaseRevoke", id: requestId, request: { ID: leaseId } }
    : { op: "leaseRevoke", id: requestId, request: { ID: leaseId }, leaderTerm };
}
