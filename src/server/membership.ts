// The cluster's membership and alarm store, part of the replicated state: etcd's members
// bucket (id → peer URLs, learner flag; name and client URLs once the member has started),
// its members_removed bucket and its alarm bucket, as SQLite tables written only by applying
// committed raft entries. Every member applies the same entries, so every member lists the
// same members.
//
// What goes through the log:
// - membership changes are raft ConfChange entries whose context is a ConfChangeContext
//   (the member record for an add, the id for remove/promote/update). Validation happens at
//   apply time, as etcd's ValidateConfigurationChange does: a refused change is applied to
//   raft blanked (no node), so every member refuses it identically;
// - a member's published attributes (its name, once started) and alarm requests are normal
//   entries in this module's own encoding (MEMBERSHIP_ENTRY_MARK first), never handed to the
//   KV applier.
//
// Member addressing: a member is a Durable Object named "<cluster>/<member>". Its peer URL
// is `etcdo://<cluster>/<member>` and its 64-bit member ID is FNV-1a 64 of
// "member:<cluster>/<member>" (the same formula as src/member/identity.ts), so a member's
// ID and URL follow from its name and a removed name can never come back (etcd: a removed ID
// is refused for ever).
import type { ConfChange, ConfState, NodeId } from "../raft/index.ts";
import type { SqlDb } from "../util/sql.ts";
import { EtcdError, Errors } from "./errors.ts";

export const PEER_URL_SCHEME = "etcdo:";
/** Member names: what a Durable Object name suffix may be (no "/"). */
const MEMBER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** etcd's --max-learners default. */
export const MAX_LEARNERS = 1;

export interface MemberRecord {
  id: bigint;
  /** The raft node id = the member's name in its Durable Object name. */
  node: NodeId;
  /** Empty until the member has started and published its attributes. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export const AlarmType = { NONE: 0, NOSPACE: 1, CORRUPT: 2 } as const;
export const ALARM_TYPE_NAMES = ["NONE", "NOSPACE", "CORRUPT"] as const;
export const AlarmAction = { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 } as const;

export interface AlarmMember {
  memberID: bigint;
  alarm: number;
}

/** What a ConfChange entry's context carries (req: the proposer's request id). */
export type ConfChangeContext =
  | { req: number; kind: "add"; member: MemberRecord }
  | { req: number; kind: "promote"; id: bigint; node: NodeId }
  | { req: number; kind: "remove"; id: bigint; node: NodeId }
  | { req: number; kind: "update"; id: bigint; node: NodeId; peerURLs: string[] };

/** Normal entries owned by this module. */
export type MembershipEntry =
  | { req: number; kind: "attrs"; id: bigint; name: string; clientURLs: string[] }
  | { req: number; kind: "alarm"; action: number; memberID: bigint; alarm: number };

export interface MembershipResult {
  /** The proposer's request id. */
  id: number;
  error?: EtcdError;
  /** The members after the change (conf changes and attrs). */
  members?: MemberRecord[];
  /** The alarm response's alarms (alarm entries). */
  alarms?: AlarmMember[];
}

// ---- naming ----

export interface MemberNaming {
  clusterName: string;
  idOf(node: NodeId): bigint;
  peerUrlOf(node: NodeId): string;
  /** The member a peer URL names in this cluster, or null when it is not a valid etcdo URL. */
  nodeOfPeerUrl(url: string): NodeId | null;
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;

function fnv1a64(text: string): bigint {
  let h = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= BigInt(byte);
    h = (h * FNV_PRIME) & MASK64;
  }
  return h;
}

export function memberNaming(clusterName: string): MemberNaming {
  const prefix = `${PEER_URL_SCHEME}//${clusterName}/`;
  // Asked for every batch of peer messages; the hash costs a BigInt step per byte.
  const ids = new Map<NodeId, bigint>();
  return {
    clusterName,
    idOf: (node) => {
      let id = ids.get(node);
      if (id === undefined) {
        if (ids.size >= 1024) ids.clear();
        id = fnv1a64(`member:${clusterName}/${node}`);
        ids.set(node, id);
      }
      return id;
    },
    peerUrlOf: (node) => prefix + node,
    nodeOfPeerUrl: (url) => {
      if (!url.startsWith(prefix)) return null;
      const node = url.slice(prefix.length);
      return MEMBER_NAME.test(node) ? node : null;
    },
  };
}

/** A member record as a new member has it before it starts (etcd: no name, no client URLs). */
export function newMemberRecord(naming: MemberNaming, node: NodeId, peerURLs: string[], isLearner: boolean): MemberRecord {
  return { id: naming.idOf(node), node, name: "", peerURLs: [...peerURLs].sort(), clientURLs: [], isLearner };
}

// ---- encodings ----

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? { $n: x.toString() } : x));
}

function fromJson<T>(text: string): T {
  return JSON.parse(text, (_k, x: unknown) =>
    x !== null && typeof x === "object" && "$n" in (x as object) ? BigInt((x as { $n: string }).$n) : x,
  ) as T;
}

export function encodeConfChangeContext(c: ConfChangeContext): Uint8Array {
  return encoder.encode(toJson(c));
}

/** The context of a conf change entry, or null for changes without one (raft's own). */
export function decodeConfChangeContext(b: Uint8Array): ConfChangeContext | null {
  if (b.length === 0) return null;
  return fromJson<ConfChangeContext>(decoder.decode(b));
}

/**
 * First byte of a membership entry. An encoded InternalRequest starts with the big-endian
 * length of its JSON head, whose first byte is 0 for any head below 16 MiB, so 0xFF never
 * starts one.
 */
export const MEMBERSHIP_ENTRY_MARK = 0xff;

export function isMembershipEntry(data: Uint8Array): boolean {
  return data.length > 0 && data[0] === MEMBERSHIP_ENTRY_MARK;
}

export function encodeMembershipEntry(e: MembershipEntry): Uint8Array {
  const body = encoder.encode(toJson(e));
  const out = new Uint8Array(body.length + 1);
  out[0] = MEMBERSHIP_ENTRY_MARK;
  out.set(body, 1);
  return out;
}

export function decodeMembershipEntry(data: Uint8Array): MembershipEntry {
  return fromJson<MembershipEntry>(decoder.decode(data.subarray(1)));
}

/** The raft change a context asks for. */
export function confChangeFor(c: ConfChangeContext): ConfChange {
  const context = encodeConfChangeContext(c);
  switch (c.kind) {
    case "add":
      return { transition: "Auto", changes: [{ type: c.member.isLearner ? "AddLearnerNode" : "AddNode", nodeId: c.member.node }], context };
    case "promote":
      return { transition: "Auto", changes: [{ type: "AddNode", nodeId: c.node }], context };
    case "remove":
      return { transition: "Auto", changes: [{ type: "RemoveNode", nodeId: c.node }], context };
    case "update":
      return { transition: "Auto", changes: [{ type: "UpdateNode", nodeId: c.node }], context };
  }
}

// ---- the store ----

/** The tables of the replicated membership state (a raft snapshot must carry them too). */
export const MEMBERSHIP_TABLES = ["cluster_member", "cluster_member_removed", "cluster_alarm"] as const;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS cluster_member (
  id TEXT PRIMARY KEY,
  node TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  peer_urls TEXT NOT NULL,
  client_urls TEXT NOT NULL,
  is_learner INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cluster_member_removed (id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cluster_alarm (
  member_id TEXT NOT NULL,
  alarm INTEGER NOT NULL,
  PRIMARY KEY (member_id, alarm)
) WITHOUT ROWID;
`;

interface MemberRow {
  [k: string]: string | number;
  id: string;
  node: string;
  name: string;
  peer_urls: string;
  client_urls: string;
  is_learner: number;
}

function rowToRecord(r: MemberRow): MemberRecord {
  return {
    id: BigInt(r.id),
    node: r.node,
    name: r.name,
    peerURLs: JSON.parse(r.peer_urls) as string[],
    clientURLs: JSON.parse(r.client_urls) as string[],
    isLearner: r.is_learner === 1,
  };
}

const byId = (a: { id: bigint }, b: { id: bigint }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class Membership {
  readonly naming: MemberNaming;
  private readonly db: SqlDb;
  // Read on every client request and every peer message; written only by membership
  // entries. Cleared on every write (not updated), so a rolled-back write is re-read.
  private removedCache: Set<string> | undefined;
  private alarmCache: Array<{ member_id: string; alarm: number }> | undefined;

  constructor(db: SqlDb, naming: MemberNaming) {
    this.db = db;
    this.naming = naming;
    db.script(SCHEMA);
  }

  /** Forgets what was cached from the tables (after they were replaced or rolled back). */
  invalidate(): void {
    this.removedCache = undefined;
    this.alarmCache = undefined;
  }

  /** All members, ordered by ID (etcd's MembersByID). */
  list(): MemberRecord[] {
    return this.db.all<MemberRow>("SELECT * FROM cluster_member").map(rowToRecord).sort(byId);
  }

  get(id: bigint): MemberRecord | undefined {
    const r = this.db.first<MemberRow>("SELECT * FROM cluster_member WHERE id = ?", id.toString());
    return r && rowToRecord(r);
  }

  byNode(node: NodeId): MemberRecord | undefined {
    const r = this.db.first<MemberRow>("SELECT * FROM cluster_member WHERE node = ?", node);
    return r && rowToRecord(r);
  }

  isRemoved(id: bigint): boolean {
    this.removedCache ??= new Set(this.db.all<{ id: string }>("SELECT id FROM cluster_member_removed").map((r) => r.id));
    return this.removedCache.has(id.toString());
  }

  isEmpty(): boolean {
    return this.db.first("SELECT 1 AS x FROM cluster_member LIMIT 1") === undefined;
  }

  /**
   * Members of a cluster bootstrapped before membership was replicated: derived from the
   * configuration (every member derives the same rows). Does nothing once rows exist.
   */
  seedFrom(conf: ConfState): void {
    if (!this.isEmpty()) return;
    for (const node of conf.voters) this.insert({ ...newMemberRecord(this.naming, node, [this.naming.peerUrlOf(node)], false), name: node });
    for (const node of conf.learners) this.insert({ ...newMemberRecord(this.naming, node, [this.naming.peerUrlOf(node)], true), name: node });
  }

  /** etcd's ValidateConfigurationChange, against the applied state. */
  validate(c: ConfChangeContext): EtcdError | null {
    const id = c.kind === "add" ? c.member.id : c.id;
    // etcd maps ErrIDRemoved to "member not found" on the gRPC API.
    if (this.isRemoved(id)) return Errors.MemberNotFound;
    const members = this.list();
    const existing = members.find((m) => m.id === id);
    switch (c.kind) {
      case "promote":
        if (!existing) return Errors.MemberNotFound;
        if (!existing.isLearner) return Errors.MemberNotLearner;
        return null;
      case "add": {
        if (existing || members.some((m) => m.node === c.member.node)) return Errors.MemberExist;
        const urls = new Set(members.flatMap((m) => m.peerURLs));
        if (c.member.peerURLs.some((u) => urls.has(u))) return Errors.PeerURLExist;
        if (c.member.isLearner && members.filter((m) => m.isLearner).length + 1 > MAX_LEARNERS) return Errors.TooManyLearners;
        return null;
      }
      case "remove":
        return existing ? null : Errors.MemberNotFound;
      case "update": {
        if (!existing) return Errors.MemberNotFound;
        const urls = new Set(members.filter((m) => m.id !== id).flatMap((m) => m.peerURLs));
        if (c.peerURLs.some((u) => urls.has(u))) return Errors.PeerURLExist;
        // A peer URL is the member's identity here: it cannot move to another object.
        if (c.peerURLs.some((u) => this.naming.nodeOfPeerUrl(u) !== existing.node)) return Errors.MemberBadURLs;
        return null;
      }
    }
  }

  /** Applies a validated change (inside the caller's transaction). */
  applyChange(c: ConfChangeContext): void {
    switch (c.kind) {
      case "add":
        this.insert(c.member);
        return;
      case "promote":
        this.db.run("UPDATE cluster_member SET is_learner = 0 WHERE id = ?", c.id.toString());
        return;
      case "remove":
        this.db.run("DELETE FROM cluster_member WHERE id = ?", c.id.toString());
        this.db.run("INSERT OR IGNORE INTO cluster_member_removed (id) VALUES (?)", c.id.toString());
        this.removedCache = undefined;
        return;
      case "update":
        this.db.run("UPDATE cluster_member SET peer_urls = ? WHERE id = ?", JSON.stringify([...c.peerURLs].sort()), c.id.toString());
        return;
    }
  }

  /** Applies one of this module's normal entries (inside the caller's transaction). */
  applyEntry(e: MembershipEntry): MembershipResult {
    if (e.kind === "attrs") {
      // etcd ignores attributes of a member that is gone.
      if (this.get(e.id)) {
        this.db.run(
          "UPDATE cluster_member SET name = ?, client_urls = ? WHERE id = ?",
          e.name,
          JSON.stringify(e.clientURLs),
          e.id.toString(),
        );
      }
      return { id: e.req, members: this.list() };
    }
    return { id: e.req, alarms: this.alarm(e.action, e.memberID, e.alarm) };
  }

  /** etcd's alarm store: GET lists (NONE = every type), ACTIVATE/DEACTIVATE answer the one alarm. */
  private alarm(action: number, memberID: bigint, alarm: number): AlarmMember[] {
    if (action === AlarmAction.GET) return this.alarms(alarm);
    const key = [memberID.toString(), alarm] as const;
    this.alarmCache = undefined;
    const exists = this.db.first("SELECT 1 AS x FROM cluster_alarm WHERE member_id = ? AND alarm = ?", ...key) !== undefined;
    if (action === AlarmAction.ACTIVATE) {
      if (!exists) this.db.run("INSERT INTO cluster_alarm (member_id, alarm) VALUES (?, ?)", ...key);
      return [{ memberID, alarm }];
    }
    if (action === AlarmAction.DEACTIVATE) {
      if (!exists) return [];
      this.db.run("DELETE FROM cluster_alarm WHERE member_id = ? AND alarm = ?", ...key);
      return [{ memberID, alarm }];
    }
    return [];
  }

  /** Raised alarms of one type (NONE: all), ordered by type then member. */
  alarms(type: number = AlarmType.NONE): AlarmMember[] {
    this.alarmCache ??= this.db.all<{ member_id: string; alarm: number }>("SELECT member_id, alarm FROM cluster_alarm");
    if (this.alarmCache.length === 0) return [];
    return this.alarmCache
      .filter((r) => type === AlarmType.NONE || r.alarm === type)
      .map((r) => ({ memberID: BigInt(r.member_id), alarm: r.alarm }))
      .sort((a, b) => a.alarm - b.alarm || (a.memberID < b.memberID ? -1 : a.memberID > b.memberID ? 1 : 0));
  }

  private insert(m: MemberRecord): void {
    this.db.run(
      "INSERT INTO cluster_member (id, node, name, peer_urls, client_urls, is_learner) VALUES (?, ?, ?, ?, ?, ?)",
      m.id.toString(),
      m.node,
      m.name,
      JSON.stringify(m.peerURLs),
      JSON.stringify(m.clientURLs),
      m.isLearner ? 1 : 0,
    );
  }
}

// ---- etcd's strict reconfiguration checks (StrictReconfigCheck, on by default) ----

const isStarted = (m: MemberRecord) => m.name !== "";

/** RaftCluster.IsReadyToAddVotingMember. */
export function isReadyToAddVotingMember(members: readonly MemberRecord[]): boolean {
  const voters = members.filter((m) => !m.isLearner);
  const nmembers = voters.length + 1;
  const nstarted = voters.filter(isStarted).length;
  if (nstarted === 1 && nmembers === 2) return true;
  return nstarted >= Math.floor(nmembers / 2) + 1;
}

/** RaftCluster.IsReadyToRemoveVotingMember. */
export function isReadyToRemoveVotingMember(members: readonly MemberRecord[], id: bigint): boolean {
  const voters = members.filter((m) => !m.isLearner && m.id !== id);
  return voters.filter(isStarted).length >= Math.floor(voters.length / 2) + 1;
}

/** RaftCluster.IsReadyToPromoteMember (the learner counts as a started voter). */
export function isReadyToPromoteMember(members: readonly MemberRecord[]): boolean {
  const voters = members.filter((m) => !m.isLearner);
  return voters.filter(isStarted).length + 1 >= Math.floor((voters.length + 1) / 2) + 1;
}

/** etcd's readyPercent: a learner may be promoted once its match is ≥ 90% of the leader's. */
export const LEARNER_READY_PERCENT = 0.9;

/** The bootstrap entries' change for an initial member (named: etcd's initial members are). */
export function initialMemberContext(naming: MemberNaming, node: NodeId): ConfChangeContext {
  return { req: 0, kind: "add", member: { ...newMemberRecord(naming, node, [naming.peerUrlOf(node)], false), name: node } };
}
