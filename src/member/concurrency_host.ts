// etcd's Lock and Election services on the member Durable Object, served as etcd's v3lock
// and v3election servers serve them with clientv3/concurrency: every write is an ordinary KV
// request through this member (so through the raft log), and the waiting happens here, woken
// from the member's apply path (ConcurrencyWaits) instead of by client watches.
//
// Errors are etcd's: these servers return their client's errors unwrapped, so every failure
// is gRPC code Unknown (HTTP 500) with the inner message, e.g. "etcdserver: requested lease
// not found". docs/locks.md describes the recipes, the guarantees and fencing.
import type { Applier } from "../server/applier.ts";
import { EtcdError, GrpcCode } from "../server/errors.ts";
import {
  ConcurrencyErrors,
  DEFAULT_SESSION_TTL_SECONDS,
  contendTxn,
  contenderKey,
  existingContender,
  firstCreateRequest,
  prefixOf,
  proclaimTxn,
  resignTxn,
  sameBytes,
} from "../server/concurrency/recipes.ts";
import type {
  CampaignRequest,
  CampaignResponse,
  ConcurrencyRpc,
  LeaderRequest,
  LeaderResponse,
  LockRequest,
  LockResponse,
  ProclaimRequest,
  ResignRequest,
  UnlockRequest,
} from "../server/concurrency/types.ts";
import { ConcurrencyWaits, type Observer } from "../server/concurrency/waits.ts";
import type { LeaseGrantResponse, RangeResponse, ResponseHeader, TxnResponse } from "../server/types.ts";
import { decodeObserveRequest, encodeObserveMessage, OBSERVE_PATHS } from "../gateway/codec/concurrency.ts";
import { errorBody, httpStatusOf, streamResponse } from "../gateway/http_errors.ts";
import type { UnaryResult, UnaryRpc } from "./rpc.ts";

export interface ConcurrencyHostOptions {
  applier: Applier;
  /** The member's own client entry point (validation, raft, waits for apply). */
  unary(rpc: UnaryRpc, request: unknown): Promise<UnaryResult>;
  header(revision: number): ResponseHeader;
}

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

/** An inner call failed: etcd's lock/election servers hand the error on as code Unknown. */
class Failed extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export class ConcurrencyHost {
  readonly waits: ConcurrencyWaits;
  private readonly opts: ConcurrencyHostOptions;

  constructor(opts: ConcurrencyHostOptions) {
    this.opts = opts;
    const mvcc = opts.applier.mvcc;
    this.waits = new ConcurrencyWaits({
      rev: () => mvcc.rev(),
      compactRev: () => mvcc.compactRev(),
      eventsBetween: (from, to, limit) => mvcc.eventsBetween(from, to, limit),
      range: (r) => opts.applier.range(r),
    });
  }

  /** After each round of applied entries. */
  onApplied(): void {
    this.waits.onApplied();
  }

  async call(rpc: ConcurrencyRpc, request: unknown): Promise<UnaryResult> {
    try {
      return { ok: true, response: await this.dispatch(rpc, request) };
    } catch (err) {
      if (err instanceof Failed) return { ok: false, code: err.code, message: err.message };
      if (err instanceof EtcdError) return { ok: false, code: err.code, message: err.message };
      throw err;
    }
  }

  private dispatch(rpc: ConcurrencyRpc, request: unknown): Promise<unknown> {
    switch (rpc) {
      case "Lock":
        return this.lock(request as LockRequest);
      case "Unlock":
        return this.unlock(request as UnlockRequest);
      case "Campaign":
        return this.campaign(request as CampaignRequest);
      case "Proclaim":
        return this.proclaim(request as ProclaimRequest);
      case "Leader":
        return this.leader(request as LeaderRequest);
      case "Resign":
        return this.resign(request as ResignRequest);
    }
  }

  private async kv<R>(rpc: UnaryRpc, request: unknown): Promise<R> {
    const r = await this.opts.unary(rpc, request);
    if (!r.ok) throw new Failed(GrpcCode.Unknown, r.message);
    return r.response as R;
  }

  /** concurrency.NewSession without a lease grants one with the default TTL (never kept alive here). */
  private async sessionLease(lease: bigint): Promise<bigint> {
    if (lease !== 0n) return lease;
    return (await this.kv<LeaseGrantResponse>("LeaseGrant", { ID: 0n, TTL: DEFAULT_SESSION_TTL_SECONDS })).ID;
  }

  /** Waits until no contender under prefix was created before createRev; the store revision then. */
  private turn(prefix: Uint8Array, key: Uint8Array, createRev: number): Promise<{ waited: boolean; rev: number }> {
    return new Promise((resolve, reject) => {
      let sync = true;
      this.waits.addWaiter({
        prefix,
        key,
        createRev,
        acquired: (rev) => resolve({ waited: !sync, rev }),
        failed: (err) => reject(err),
      });
      sync = false;
    });
  }

  private async lock(r: LockRequest): Promise<LockResponse> {
    const lease = await this.sessionLease(r.lease);
    const key = contenderKey(r.name, lease);
    const t = await this.kv<TxnResponse>("Txn", contendTxn(key, EMPTY, lease));
    const myRev = t.succeeded ? t.header!.revision : existingContender(t.responses)!.createRevision;
    const got = await this.turn(prefixOf(r.name), key, myRev);
    return { header: got.waited ? this.opts.header(got.rev) : t.header, key };
  }

  private async unlock(r: UnlockRequest): Promise<{ header?: ResponseHeader }> {
    const d = await this.kv<{ header?: ResponseHeader }>("DeleteRange", { key: r.key, rangeEnd: EMPTY, prevKv: false });
    return { header: d.header };
  }

  private async campaign(r: CampaignRequest): Promise<CampaignResponse> {
    const lease = await this.sessionLease(r.lease);
    const key = contenderKey(r.name, lease);
    const t = await this.kv<TxnResponse>("Txn", contendTxn(key, r.value, lease));
    let leaderRev = t.header!.revision;
    if (!t.succeeded) {
      const kv = existingContender(t.responses)!;
      leaderRev = kv.createRevision;
      if (!sameBytes(kv.value, r.value)) {
        const p = await this.kv<TxnResponse>("Txn", proclaimTxn({ key, rev: leaderRev, lease }, r.value));
        if (!p.succeeded) {
          await this.kv<TxnResponse>("Txn", resignTxn({ key, rev: leaderRev }));
          throw ConcurrencyErrors.ElectionNotLeader;
        }
      }
    }
    await this.turn(prefixOf(r.name), key, leaderRev);
    return { header: t.header, leader: { name: r.name, key, rev: leaderRev, lease } };
  }

  private async proclaim(r: ProclaimRequest): Promise<{ header?: ResponseHeader }> {
    if (!r.leader) throw ConcurrencyErrors.MissingLeaderKey;
    const t = await this.kv<TxnResponse>("Txn", proclaimTxn(r.leader, r.value));
    if (!t.succeeded) throw ConcurrencyErrors.ElectionNotLeader;
    return { header: t.header };
  }

  private async resign(r: ResignRequest): Promise<{ header?: ResponseHeader }> {
    if (!r.leader) throw ConcurrencyErrors.MissingLeaderKey;
    const t = await this.kv<TxnResponse>("Txn", resignTxn(r.leader));
    return { header: t.header };
  }

  private async leader(r: LeaderRequest): Promise<LeaderResponse> {
    const g = await this.kv<RangeResponse>("Range", firstCreateRequest(prefixOf(r.name), false));
    const kv = g.kvs[0];
    if (!kv) throw ConcurrencyErrors.ElectionNoLeader;
    return { header: g.header, kv };
  }

  // ---- Observe: a server stream over HTTP ----

  handles(request: Request): boolean {
    return (OBSERVE_PATHS as readonly string[]).includes(new URL(request.url).pathname);
  }

  async fetch(request: Request): Promise<Response> {
    if (request.method !== "POST") return new Response("Method Not Allowed\n", { status: 405 });
    let name: Uint8Array;
    try {
      name = decodeObserveRequest(new Uint8Array(await request.arrayBuffer())).name;
    } catch (err) {
      if (!(err instanceof EtcdError)) throw err;
      return errorResponse(err.code, err.message);
    }
    const prefix = prefixOf(name);
    // etcd's observe starts with a linearizable Get of the first contender.
    const first = await this.opts.unary("Range", firstCreateRequest(prefix, false));
    if (!first.ok) return errorResponse(GrpcCode.Unknown, first.message);
    const got = first.response as RangeResponse;
    let observer: Observer | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const emit = (kv: Observer["current"], rev: number) => {
          try {
            controller.enqueue(encoder.encode(encodeObserveMessage({ header: this.opts.header(rev), kv })));
          } catch {
            if (observer) this.waits.removeObserver(observer);
          }
        };
        const kv = got.kvs[0];
        if (kv) controller.enqueue(encoder.encode(encodeObserveMessage({ header: got.header, kv })));
        observer = { prefix, current: kv, seenRev: got.header!.revision, emit: (k, rev) => emit(k, rev) };
        this.waits.addObserver(observer);
      },
      cancel: () => {
        if (observer) this.waits.removeObserver(observer);
      },
    });
    return streamResponse(stream);
  }
}

function errorResponse(code: number, message: string): Response {
  return new Response(errorBody(code, message), { status: httpStatusOf(code), headers: { "Content-Type": "application/json" } });
}
