// The member Durable Object: a thin adapter that gives the pure server its storage
// (this object's SQLite), its clock and its timers (the alarm), and exposes the etcd
// service over Durable Object RPC. Everything it holds in memory is rebuilt from storage.
import { DurableObject } from "cloudflare:workers";
import { LeaseIdGenerator } from "../lease/lease_id.ts";
import { Applier, leaseRevokeRequest, type ApplyResult } from "../server/applier.ts";
import { encodeInternalRequest, type InternalRequest } from "../server/internal_request.ts";
import type { Env } from "./env.ts";
import { DEFAULT_MAX_REQUEST_BYTES, EtcdService } from "./etcd_service.ts";
import { identityFromObjectName, type MemberIdentity } from "./identity.ts";
import type { UnaryResult, UnaryRpc } from "./rpc.ts";
import { durableObjectDb } from "./sql.ts";

/** etcd's lessor looks for expired leases every 500 ms. */
const LEASE_CHECK_INTERVAL_MS = 500;
/** etcd's minimum lease TTL with its default 100 ms heartbeat and 10-tick election: ceil(1.5 s). */
const MIN_LEASE_TTL_SECONDS = 2;

export class Member extends DurableObject<Env> {
  private readonly identity: MemberIdentity;
  private readonly applier: Applier;
  private readonly service: EtcdService;
  private requestSeq = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.identity = identityFromObjectName(ctx.id.name ?? "default/m1");
    this.applier = new Applier(durableObjectDb(ctx.storage), { minLeaseTtlSeconds: MIN_LEASE_TTL_SECONDS });
    // A single member is always the lessor's primary; restarts renew every lease (etcd's promote).
    this.applier.promote(Date.now(), 0);
    this.service = new EtcdService({
      applier: this.applier,
      identity: this.identity,
      leaseIds: new LeaseIdGenerator(this.identity.memberId, Date.now()),
      maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
      raftTerm: () => Math.max(1, this.applier.appliedTerm()),
      nowMs: () => Date.now(),
      nextRequestId: () => ++this.requestSeq,
      propose: (request) => Promise.resolve(this.applyLocally(request)),
      readBarrier: () => Promise.resolve(),
    });
    ctx.blockConcurrencyWhile(async () => {
      if (this.applier.leaseLeases(Date.now()).leases.length > 0) await this.ensureLeaseAlarm();
    });
  }

  async unary(rpc: UnaryRpc, request: unknown): Promise<UnaryResult> {
    const result = await this.service.unary(rpc, request);
    if (rpc === "LeaseGrant" && result.ok) await this.ensureLeaseAlarm();
    return result;
  }

  override async alarm(): Promise<void> {
    const nowMs = Date.now();
    for (const id of this.applier.expiredLeases(nowMs)) {
      this.applyLocally(leaseRevokeRequest(++this.requestSeq, id));
    }
    if (this.applier.leaseLeases(nowMs).leases.length > 0) {
      await this.ctx.storage.setAlarm(nowMs + LEASE_CHECK_INTERVAL_MS);
    }
  }

  /** The single-member log: the next index is applied at once, atomically with its index. */
  private applyLocally(request: InternalRequest): ApplyResult {
    const index = this.applier.consistentIndex() + 1;
    const entry = { index, term: 1, data: encodeInternalRequest(request) };
    return this.applier.apply(entry, Date.now())!;
  }

  private async ensureLeaseAlarm(): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Date.now() + LEASE_CHECK_INTERVAL_MS);
    }
  }
}
