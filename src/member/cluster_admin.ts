// etcd's Cluster and Maintenance services on one member: member list/add/remove/update/
// promote through raft conf changes, status, hash, alarms, defragment and leader transfer,
// plus the checks etcd makes before serving anything (learners serve only status and
// serializable reads; raised alarms cap writes; a removed member serves nothing).
//
// Membership and alarms live in the replicated membership store (src/server/membership.ts);
// this module proposes, waits for the apply result, and answers. Responses are plain values
// (bigints for 64-bit IDs); the gateway's codec writes them as etcd does.
import type { ProcessOutput, EtcdNode } from "../server/etcd_node.ts";
import { EtcdError, Errors, GrpcCode } from "../server/errors.ts";
import {
  ALARM_TYPE_NAMES,
  AlarmAction,
  AlarmType,
  LEARNER_READY_PERCENT,
  isReadyToAddVotingMember,
  isReadyToPromoteMember,
  isReadyToRemoveVotingMember,
  newMemberRecord,
  type AlarmMember,
  type ConfChangeContext,
  type MemberRecord,
  type MembershipEntry,
  type MembershipResult,
} from "../server/membership.ts";
import { isTxnReadOnly } from "../server/txn_apply.ts";
import type { RangeRequest, TxnRequest } from "../server/types.ts";
import type { MemberIdentity } from "./identity.ts";
import type { UnaryResult, UnaryRpc } from "./rpc.ts";

export const CLUSTER_RPCS = [
  "MemberAdd",
  "MemberRemove",
  "MemberUpdate",
  "MemberList",
  "MemberPromote",
  "Status",
  "Hash",
  "HashKV",
  "Alarm",
  "Defragment",
  "MoveLeader",
] as const;
export type ClusterRpc = (typeof CLUSTER_RPCS)[number];

/** The version a member reports (etcd's version.Version). */
export const SERVER_VERSION = "3.4.23";

export interface ClusterHeader {
  clusterId: bigint;
  memberId: bigint;
  /** Absent (0) in Cluster service answers, as in etcd. */
  revision: number;
  raftTerm: number;
}

export interface MemberAddRequest { peerURLs: string[]; isLearner: boolean }
export interface MemberIdRequest { ID: bigint }
export interface MemberUpdateRequest { ID: bigint; peerURLs: string[] }
export interface AlarmRequest { action: number; memberID: bigint; alarm: number }
export interface HashKVRequest { revision: number }
export interface MoveLeaderRequest { targetID: bigint }

export interface MembersResponse { header: ClusterHeader; members: MemberRecord[] }
export interface MemberAddResponse extends MembersResponse { member: MemberRecord }
export interface StatusResponse {
  header: ClusterHeader;
  version: string;
  dbSize: number;
  leader: bigint;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  errors: string[];
  dbSizeInUse: number;
  isLearner: boolean;
}
export interface HashResponse { header: ClusterHeader; hash: number }
export interface HashKVResponse { header: ClusterHeader; hash: number; compactRevision: number }
export interface AlarmResponse { alarms: AlarmMember[] }

export interface ClusterAdminHost {
  node: EtcdNode;
  identity: MemberIdentity;
  requestTimeoutMs: number;
  tickMs: number;
  nextRequestId(): number;
  schedulePump(): void;
  /** The SQLite file size and the part of it in use. */
  dbSize(): { size: number; inUse: number };
  /** Asks the current leader (etcd forwards MemberPromote to it). */
  callLeader(leader: string, rpc: ClusterRpc, request: unknown): Promise<UnaryResult>;
}

interface Waiter {
  entry: { cc: ConfChangeContext } | { e: MembershipEntry };
  proposed: boolean;
  deadlineMs: number;
  resolve(r: MembershipResult): void;
}

/** Ticks between publications of this member's attributes while they are not applied. */
const PUBLISH_RETRY_TICKS = 10;

const ok = <R>(response: R, leader?: string): UnaryResult => ({ ok: true, response, leader: leader || undefined });
const fail = (e: EtcdError): UnaryResult => ({ ok: false, code: e.code, message: e.message });

/** etcd 3.4 loses this error's gRPC status on the way out: clients see code Unknown. */
const NotEnoughStarted = new EtcdError(GrpcCode.Unknown, Errors.MemberNotEnoughStarted.message);
const LeaderTransferTimeout = new EtcdError(GrpcCode.Unknown, "etcdserver: request timed out, leader transfer took too long");

export class ClusterAdmin {
  private readonly host: ClusterAdminHost;
  private readonly waiters = new Map<number, Waiter>();
  private transfers: Array<{ target: string; deadlineMs: number; resolve(ok: boolean): void }> = [];
  private publishTick = -PUBLISH_RETRY_TICKS;
  private ticks = 0;
  /** Told by a peer that this member was removed (it may never apply its own removal). */
  private removedNotice = false;

  constructor(host: ClusterAdminHost) {
    this.host = host;
  }

  private get node(): EtcdNode {
    return this.host.node;
  }

  private get selfId(): bigint {
    return this.host.identity.memberId;
  }

  // ---- what this member may serve ----

  /** True once this member knows it was removed from the cluster: it serves nothing more. */
  removed(): boolean {
    return this.removedNotice || this.node.membership.isRemoved(this.selfId);
  }

  noticeRemoved(): void {
    this.removedNotice = true;
  }

  /** A peer's name if that peer was removed (its messages are dropped and it is told). */
  isRemovedPeer(node: string): boolean {
    return this.node.membership.isRemoved(this.node.membership.naming.idOf(node));
  }

  isLearner(): boolean {
    return this.node.members().learners.includes(this.host.identity.memberName);
  }

  /**
   * Why a KV/lease request must be refused before it runs, or null: a removed member, a
   * learner (etcd: only serializable Range), raised alarms (etcd's capped and corrupt
   * appliers; checked here, before proposing, rather than at apply).
   */
  refusal(rpc: UnaryRpc, request: unknown): EtcdError | null {
    if (this.removed()) return Errors.Stopped;
    if (this.isLearner() && !(rpc === "Range" && (request as RangeRequest).serializable)) return Errors.NotSupportedForLearner;
    const alarms = this.node.membership.alarms();
    if (alarms.length === 0) return null;
    const writesTxn = rpc === "Txn" && !isTxnReadOnly(request as TxnRequest);
    if (alarms.some((a) => a.alarm === AlarmType.CORRUPT)) {
      if (rpc === "Put" || rpc === "DeleteRange" || writesTxn || rpc === "Compact" || rpc === "LeaseGrant" || rpc === "LeaseRevoke") {
        return Errors.Corrupt;
      }
    }
    if (alarms.some((a) => a.alarm === AlarmType.NOSPACE) && (rpc === "Put" || writesTxn || rpc === "LeaseGrant")) return Errors.NoSpace;
    return null;
  }

  // ---- the services ----

  async unary(rpc: ClusterRpc, request: unknown): Promise<UnaryResult> {
    if (this.removed()) return fail(Errors.Stopped);
    if (this.isLearner() && rpc !== "Status") return fail(Errors.NotSupportedForLearner);
    try {
      return await this.serve(rpc, request);
    } catch (err) {
      if (err instanceof EtcdError) return fail(err);
      throw err;
    }
  }

  private async serve(rpc: ClusterRpc, request: unknown): Promise<UnaryResult> {
    const leader = this.node.leader();
    switch (rpc) {
      case "MemberList":
        return ok<MembersResponse>({ header: this.clusterHeader(), members: this.node.membership.list() }, leader);
      case "MemberAdd":
        return ok(await this.memberAdd(request as MemberAddRequest), leader);
      case "MemberRemove":
        return ok(await this.memberRemove(request as MemberIdRequest), leader);
      case "MemberUpdate":
        return ok(await this.memberUpdate(request as MemberUpdateRequest), leader);
      case "MemberPromote":
        if (!this.node.isLeader()) return this.forwardPromote(request);
        return ok(await this.memberPromote(request as MemberIdRequest), leader);
      case "Status":
        return ok(this.status(), leader);
      case "Hash": {
        // etcd hashes its whole bolt file; the KV state at the current revision is what a
        // member's replicated state is made of here.
        const h = this.node.applier.hashKV(0);
        return ok<HashResponse>({ header: this.header(), hash: h.hash }, leader);
      }
      case "HashKV": {
        const h = this.node.applier.hashKV((request as HashKVRequest).revision);
        return ok<HashKVResponse>({ header: this.header(), hash: h.hash, compactRevision: h.compactRevision }, leader);
      }
      case "Alarm": {
        const r = request as AlarmRequest;
        const res = await this.propose({ e: { req: this.host.nextRequestId(), kind: "alarm", ...r } });
        // etcd passes this error on without its gRPC status: code Unknown.
        if (res.error) return fail(new EtcdError(GrpcCode.Unknown, res.error.message));
        return ok<AlarmResponse>({ alarms: res.alarms ?? [] }, leader);
      }
      case "Defragment":
        // SQLite reuses freed pages itself and the platform owns the file: nothing to do.
        return ok({}, leader);
      case "MoveLeader":
        await this.moveLeader(request as MoveLeaderRequest);
        return ok({}, this.node.leader());
    }
  }

  private clusterHeader(): ClusterHeader {
    return { clusterId: this.host.identity.clusterId, memberId: this.selfId, revision: 0, raftTerm: this.node.term() };
  }

  private header(): ClusterHeader {
    return { ...this.clusterHeader(), revision: this.node.applier.revision() };
  }

  private status(): StatusResponse {
    const s = this.node.status();
    const naming = this.node.membership.naming;
    const { size, inUse } = this.host.dbSize();
    const errors: string[] = [];
    if (!s.lead) errors.push(Errors.NoLeader.message);
    for (const a of this.node.membership.alarms()) errors.push(`memberID:${a.memberID} alarm:${ALARM_TYPE_NAMES[a.alarm] ?? a.alarm} `);
    return {
      header: this.header(),
      version: SERVER_VERSION,
      dbSize: size,
      leader: s.lead ? naming.idOf(s.lead) : 0n,
      raftIndex: s.commit,
      raftTerm: s.term,
      raftAppliedIndex: this.node.applier.consistentIndex(),
      errors,
      dbSizeInUse: inUse,
      isLearner: this.isLearner(),
    };
  }

  /** The member a list of peer URLs names; etcd's "given member URLs are invalid" otherwise. */
  private nodeOfUrls(urls: string[]): string {
    const naming = this.node.membership.naming;
    const nodes = new Set(urls.map((u) => naming.nodeOfPeerUrl(u)));
    const node = [...nodes][0];
    if (urls.length === 0 || nodes.size !== 1 || !node) throw Errors.MemberBadURLs;
    return node;
  }

  private existing(id: bigint): MemberRecord {
    const m = this.node.membership.get(id);
    if (!m) throw Errors.MemberNotFound;
    return m;
  }

  private async memberAdd(r: MemberAddRequest): Promise<MemberAddResponse> {
    const node = this.nodeOfUrls(r.peerURLs);
    const member = newMemberRecord(this.node.membership.naming, node, r.peerURLs, r.isLearner);
    if (!r.isLearner && !isReadyToAddVotingMember(this.node.membership.list())) throw NotEnoughStarted;
    const res = await this.propose({ cc: { req: this.host.nextRequestId(), kind: "add", member } });
    if (res.error) throw res.error;
    return { header: this.clusterHeader(), member, members: res.members! };
  }

  private async memberRemove(r: MemberIdRequest): Promise<MembersResponse> {
    const m = this.existing(r.ID);
    if (!m.isLearner && !isReadyToRemoveVotingMember(this.node.membership.list(), r.ID)) throw NotEnoughStarted;
    const res = await this.propose({ cc: { req: this.host.nextRequestId(), kind: "remove", id: r.ID, node: m.node } });
    if (res.error) throw res.error;
    return { header: this.clusterHeader(), members: res.members! };
  }

  private async memberUpdate(r: MemberUpdateRequest): Promise<MembersResponse> {
    const m = this.existing(r.ID);
    // etcd 3.4 does not check these URLs and its server panics on bad ones; refuse instead.
    this.nodeOfUrls(r.peerURLs);
    const res = await this.propose({ cc: { req: this.host.nextRequestId(), kind: "update", id: r.ID, node: m.node, peerURLs: r.peerURLs } });
    if (res.error) throw res.error;
    return { header: this.clusterHeader(), members: res.members! };
  }

  /** On the leader: etcd's isLearnerReady, then the started-members check, then raft. */
  private async memberPromote(r: MemberIdRequest): Promise<MembersResponse> {
    const m = this.node.membership.get(r.ID);
    const progress = this.node.status().progress;
    const self = this.host.identity.memberName;
    if (m && progress[m.node] && progress[self] && progress[m.node]!.match < progress[self]!.match * LEARNER_READY_PERCENT) {
      throw Errors.LearnerNotReady;
    }
    if (!isReadyToPromoteMember(this.node.membership.list())) throw NotEnoughStarted;
    if (!m) throw Errors.MemberNotFound;
    const res = await this.propose({ cc: { req: this.host.nextRequestId(), kind: "promote", id: r.ID, node: m.node } });
    if (res.error) throw res.error;
    return { header: this.clusterHeader(), members: res.members! };
  }

  private async forwardPromote(request: unknown): Promise<UnaryResult> {
    const deadlineMs = Date.now() + this.host.requestTimeoutMs;
    while (!this.node.leader() || this.node.isLeader()) {
      if (this.node.isLeader()) return ok(await this.memberPromote(request as MemberIdRequest), this.node.leader());
      if (Date.now() >= deadlineMs) return fail(Errors.Timeout);
      await new Promise((r) => setTimeout(r, this.host.tickMs));
    }
    const res = await this.host.callLeader(this.node.leader(), "MemberPromote", request);
    // The answer carries the leader's header; etcd answers with its own.
    if (res.ok) return ok({ ...(res.response as MembersResponse), header: this.clusterHeader() }, res.leader);
    return res;
  }

  private async moveLeader(r: MoveLeaderRequest): Promise<void> {
    if (!this.node.isLeader()) throw Errors.NotLeader;
    const target = this.node.membership.get(r.targetID);
    if (!target || target.isLearner) throw Errors.BadLeaderTransferee;
    if (target.node === this.host.identity.memberName) return;
    const moved = new Promise<boolean>((resolve) =>
      this.transfers.push({ target: target.node, deadlineMs: Date.now() + this.host.requestTimeoutMs, resolve }),
    );
    this.node.transferLeader(target.node);
    this.host.schedulePump();
    if (!(await moved)) throw LeaderTransferTimeout;
  }

  // ---- proposals ----

  private propose(entry: Waiter["entry"]): Promise<MembershipResult> {
    return new Promise((resolve) => {
      const w: Waiter = { entry, proposed: false, deadlineMs: Date.now() + this.host.requestTimeoutMs, resolve };
      this.waiters.set(this.reqOf(entry), w);
      w.proposed = this.offer(w);
      this.host.schedulePump();
    });
  }

  private reqOf(entry: Waiter["entry"]): number {
    return "cc" in entry ? entry.cc.req : entry.e.req;
  }

  private offer(w: Waiter): boolean {
    const err = "cc" in w.entry ? this.node.proposeMemberChange(w.entry.cc) : this.node.proposeMembershipEntry(w.entry.e);
    return err === null;
  }

  /** After each Ready round: wake the requests whose entries applied, and leader transfers. */
  onProcessed(out: ProcessOutput): void {
    for (const r of out.membership) {
      const w = this.waiters.get(r.id);
      if (!w) continue;
      this.waiters.delete(r.id);
      w.resolve(r);
    }
    if (this.transfers.length > 0 && out.leaderChanged) {
      const lead = this.node.leader();
      this.transfers = this.transfers.filter((t) => {
        if (t.target !== lead) return true;
        t.resolve(true);
        return false;
      });
    }
  }

  /** Each alarm tick: retry proposals dropped for want of a leader, expire late ones, publish. */
  tick(nowMs: number): void {
    this.ticks++;
    for (const [id, w] of this.waiters) {
      if (nowMs >= w.deadlineMs) {
        this.waiters.delete(id);
        w.resolve({ id, error: Errors.Timeout });
      } else if (!w.proposed) {
        w.proposed = this.offer(w);
      }
    }
    this.transfers = this.transfers.filter((t) => {
      if (nowMs < t.deadlineMs) return true;
      t.resolve(false);
      return false;
    });
    this.maybePublish();
  }

  /** Nothing here waits on time: no change or transfer in flight, the name published. */
  idle(): boolean {
    if (this.waiters.size > 0 || this.transfers.length > 0) return false;
    const me = this.node.membership.get(this.selfId);
    return this.removed() || !me || me.name === this.host.identity.memberName;
  }

  /**
   * A started member publishes its name through the log (etcd's publish): until then the
   * member list shows it without a name, and it does not count as started.
   */
  private maybePublish(): void {
    if (this.removed() || !this.node.leader()) return;
    const me = this.node.membership.get(this.selfId);
    if (!me || me.name === this.host.identity.memberName) return;
    if (this.ticks - this.publishTick < PUBLISH_RETRY_TICKS) return;
    this.publishTick = this.ticks;
    this.node.proposeMembershipEntry({
      req: this.host.nextRequestId(),
      kind: "attrs",
      id: this.selfId,
      name: this.host.identity.memberName,
      clientURLs: [],
    });
  }
}

export { AlarmAction };
