// The etcd server's request path on one member, as etcd's v3_server.go: validate, then
// either serve a read locally (after a linearizable read barrier unless serializable) or
// propose an InternalRequest and answer with the result this member applied. How a
// proposal reaches the log (single member today, raft tomorrow) is behind `propose`.
import type { LeaseIdGenerator } from "../lease/lease_id.ts";
import type { Applier, ApplyResult } from "../server/applier.ts";
import { Errors } from "../server/errors.ts";
import type { InternalRequest } from "../server/internal_request.ts";
import { internalRequestSize } from "../server/proto_size.ts";
import { clearCheckpointRequest } from "../server/lease_checkpoint.ts";
import { isTxnReadOnly, isTxnSerializable } from "../server/txn_apply.ts";
import type {
  CompactionRequest,
  DeleteRangeRequest,
  LeaseGrantRequest,
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
  LeaseRevokeRequest,
  LeaseTimeToLiveRequest,
  PutRequest,
  RangeRequest,
  ResponseHeader,
  TxnRequest,
} from "../server/types.ts";
import { validateDeleteRange, validatePut, validateRange, validateTxn } from "../server/validate.ts";
import type { MemberIdentity } from "./identity.ts";
import { failure, type UnaryResult, type UnaryRpc } from "./rpc.ts";

/** etcd refuses proposals while the apply lags the commit by more than this (maxGapBetweenApplyAndCommitIndex). */
export const MAX_APPLY_BACKLOG_ENTRIES = 5000;

/** etcd's --max-request-bytes default: 1.5 MiB. */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

export interface ServiceDeps {
  applier: Applier;
  identity: MemberIdentity;
  leaseIds: LeaseIdGenerator;
  maxRequestBytes: number;
  raftTerm(): number;
  nowMs(): number;
  nextRequestId(): number;
  /** Resolves with the result once this member has applied the proposal. */
  propose(request: InternalRequest): Promise<ApplyResult>;
  /** Resolves once this member has applied everything committed when it was called (ReadIndex). */
  readBarrier(): Promise<void>;
  /** Committed but not yet applied entries on this member. */
  applyBacklog(): number;
}

type WithHeader = { header?: ResponseHeader };

export class EtcdService {
  private readonly deps: ServiceDeps;

  constructor(deps: ServiceDeps) {
    this.deps = deps;
  }

  header(revision: number): ResponseHeader {
    return {
      clusterId: this.deps.identity.clusterId,
      memberId: this.deps.identity.memberId,
      revision,
      raftTerm: this.deps.raftTerm(),
    };
  }

  private withHeader<R extends WithHeader>(response: R): R {
    response.header = this.header(response.header?.revision ?? this.deps.applier.revision());
    return response;
  }

  async unary(rpc: UnaryRpc, request: unknown): Promise<UnaryResult> {
    try {
      return { ok: true, response: await this.dispatch(rpc, request) };
    } catch (err) {
      return failure(err);
    }
  }

  private dispatch(rpc: UnaryRpc, request: unknown): Promise<WithHeader> {
    switch (rpc) {
      case "Range":
        return this.range(request as RangeRequest);
      case "Put":
        validatePut(request as PutRequest);
        return this.write({ op: "put", id: this.deps.nextRequestId(), request: request as PutRequest });
      case "DeleteRange":
        validateDeleteRange(request as DeleteRangeRequest);
        return this.write({ op: "deleteRange", id: this.deps.nextRequestId(), request: request as DeleteRangeRequest });
      case "Txn":
        return this.txn(request as TxnRequest);
      case "Compact":
        return this.write({ op: "compaction", id: this.deps.nextRequestId(), request: request as CompactionRequest });
      case "LeaseGrant":
        return this.leaseGrant(request as LeaseGrantRequest);
      case "LeaseRevoke":
        return this.write({ op: "leaseRevoke", id: this.deps.nextRequestId(), request: request as LeaseRevokeRequest });
      case "LeaseTimeToLive":
        return Promise.resolve(
          this.withHeader(this.deps.applier.leaseTimeToLive(request as LeaseTimeToLiveRequest, this.deps.nowMs())),
        );
      case "LeaseLeases":
        return Promise.resolve(this.withHeader(this.deps.applier.leaseLeases(this.deps.nowMs())));
      case "LeaseKeepAlive":
        return this.leaseKeepAlive(request as LeaseKeepAliveRequest);
    }
  }

  private async range(r: RangeRequest): Promise<WithHeader> {
    validateRange(r);
    if (!r.serializable) await this.deps.readBarrier();
    return this.withHeader(this.deps.applier.range(r));
  }

  private async txn(r: TxnRequest): Promise<WithHeader> {
    validateTxn(r);
    if (isTxnReadOnly(r)) {
      if (!isTxnSerializable(r)) await this.deps.readBarrier();
      return this.withHeader(this.deps.applier.readOnlyTxn(r));
    }
    return this.write({ op: "txn", id: this.deps.nextRequestId(), request: r });
  }

  private leaseGrant(r: LeaseGrantRequest): Promise<WithHeader> {
    // etcd picks the ID before proposing, so every member applies the same one.
    const ID = r.ID === 0n ? this.deps.leaseIds.next() : r.ID;
    return this.write({ op: "leaseGrant", id: this.deps.nextRequestId(), request: { ...r, ID } });
  }

  private async leaseKeepAlive(r: LeaseKeepAliveRequest): Promise<LeaseKeepAliveResponse> {
    const renewed = this.deps.applier.leaseRenew(r.ID, this.deps.nowMs());
    // notFound and expired both end as etcd's TTL 0 answer (an expired lease is being revoked).
    const TTL = renewed.kind === "ok" ? renewed.ttlSeconds : 0;
    if (renewed.kind === "notPrimary") throw Errors.NotLeader;
    // A recorded remaining TTL is cleared through the log before the renewal is answered.
    if (renewed.kind === "ok" && renewed.clearCheckpoint) await this.write(clearCheckpointRequest(this.deps.nextRequestId(), r.ID));
    return this.withHeader<LeaseKeepAliveResponse>({ ID: r.ID, TTL });
  }

  private async write(request: InternalRequest): Promise<WithHeader> {
    if (this.deps.applyBacklog() > MAX_APPLY_BACKLOG_ENTRIES) throw Errors.TooManyRequests;
    if (internalRequestSize(request) > this.deps.maxRequestBytes) throw Errors.RequestTooLarge;
    const result = await this.deps.propose(request);
    if (result.error) throw result.error;
    return this.withHeader(result.response as WithHeader);
  }
}
