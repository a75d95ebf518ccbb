// The raft core's data types. Everything that crosses a member boundary (Message, Entry,
// Snapshot, HardState, ConfState) is a plain, structured-cloneable object: no classes, no
// functions, byte payloads as Uint8Array, terms and indexes as numbers, node ids as strings.

/** A member's id ("m1", "m2", …). The empty string means "nobody". */
export type NodeId = string;

/** No node: no leader, no vote. */
export const None: NodeId = "";

/**
 * "Normal" entries carry application data (an empty one is the no-op a new leader appends);
 * "ConfChange" entries carry an encoded ConfChange (see encodeConfChange).
 */
export type EntryType = "Normal" | "ConfChange";

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** What must survive a crash besides the log: the current term, the vote cast in it, and
 * the highest index known committed. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

/**
 * A membership configuration. When votersOutgoing is non-empty the configuration is joint
 * (decisions need a majority of voters AND of votersOutgoing). learnersNext are outgoing
 * voters that become learners when the joint configuration is left.
 */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
  votersOutgoing: NodeId[];
  learnersNext: NodeId[];
  autoLeave: boolean;
}

export interface SnapshotMetadata {
  /** The last log index the snapshot replaces, and its term. */
  index: number;
  term: number;
  /** The configuration in force at `index`. */
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  /** Opaque application state. A member may leave this empty and move its state out of
   * band in chunks (then it reports the outcome with reportSnapshot). */
  data: Uint8Array;
}

export type MessageType =
  // local, never sent over the network
  | "MsgHup" // start an election
  | "MsgBeat" // leader: send heartbeats
  | "MsgCheckQuorum" // leader: step down unless a quorum was recently active
  | "MsgUnreachable" // application: the peer could not be reached
  | "MsgSnapStatus" // application: outcome of a snapshot transfer
  // peer to peer
  | "MsgProp" // a proposal forwarded to the leader
  | "MsgApp" // AppendEntries
  | "MsgAppResp"
  | "MsgVote" // RequestVote
  | "MsgVoteResp"
  | "MsgPreVote"
  | "MsgPreVoteResp"
  | "MsgSnap" // InstallSnapshot
  | "MsgHeartbeat"
  | "MsgHeartbeatResp"
  | "MsgTransferLeader"
  | "MsgTimeoutNow"
  | "MsgReadIndex"
  | "MsgReadIndexResp";

/**
 * One raft message. Field meanings depend on the type, as in etcd-raft's raftpb.Message:
 * - MsgApp: index/logTerm = the entry preceding `entries`; commit = leader's commit.
 * - MsgAppResp: index = last index appended (or rejected index when reject); rejectHint and
 *   logTerm = the follower's guess of the highest (index, term) that may match.
 * - MsgVote/MsgPreVote: index/logTerm = candidate's last entry; context marks a transfer.
 * - MsgHeartbeat(Resp): commit = min(follower match, leader commit); context = read-index ctx;
 *   quiesce (heartbeat only) = the leader stops ticking and asks the follower to do the same.
 * - MsgReadIndex(Resp): entries[0].data = the request context; index = the read index.
 */
export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  rejectHint: number;
  snapshot: Snapshot | null;
  context: Uint8Array | null;
  quiesce?: boolean;
}

export type ConfChangeType = "AddNode" | "AddLearnerNode" | "RemoveNode" | "UpdateNode";

/** One membership change. A nodeId of None makes the change a no-op (an application that
 * refuses a committed change at apply time blanks its nodeId, as etcd does). */
export interface ConfChangeSingle {
  type: ConfChangeType;
  nodeId: NodeId;
}

/**
 * How a change is carried out:
 * - "Auto": one change that alters at most one voter is applied directly ("simple");
 *   anything else goes through a joint configuration that raft leaves automatically.
 * - "Implicit": always joint, left automatically.
 * - "Explicit": always joint; the application proposes the empty ConfChange to leave.
 */
export type ConfChangeTransition = "Auto" | "Implicit" | "Explicit";

export interface ConfChange {
  transition: ConfChangeTransition;
  changes: ConfChangeSingle[];
  /** Opaque to raft (a member puts the new member's addresses here). */
  context: Uint8Array;
}

export type StateRole = "Follower" | "PreCandidate" | "Candidate" | "Leader";

/** Result of a ReadIndex request: once applied >= index, reads reflect every write
 * acknowledged before the request. requestCtx is the ctx passed to readIndex(). */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

export function emptySnapshot(): Snapshot {
  return { metadata: { index: 0, term: 0, confState: emptyConfState() }, data: new Uint8Array(0) };
}

export function isEmptySnapshot(s: Snapshot | null | undefined): boolean {
  return !s || s.metadata.index === 0;
}

export function emptyHardState(): HardState {
  return { term: 0, vote: None, commit: 0 };
}

export function isEmptyHardState(h: HardState): boolean {
  return h.term === 0 && h.vote === None && h.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** A message with every field at its zero value except those given. */
export function newMessage(fields: Partial<Message> & Pick<Message, "type">): Message {
  return {
    from: None,
    to: None,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    snapshot: null,
    context: null,
    ...fields,
  };
}

/** Messages that only the local node may step (never accepted from the network). */
export function isLocalMessage(t: MessageType): boolean {
  return t === "MsgHup" || t === "MsgBeat" || t === "MsgCheckQuorum" || t === "MsgUnreachable" || t === "MsgSnapStatus";
}

/** Responses, which are only meaningful from a tracked peer. */
export function isResponseMessage(t: MessageType): boolean {
  return t === "MsgAppResp" || t === "MsgVoteResp" || t === "MsgHeartbeatResp" || t === "MsgUnreachable" || t === "MsgPreVoteResp";
}

/** Fixed per-entry overhead counted in message size limits (index, term, type, framing). */
export const ENTRY_OVERHEAD_BYTES = 16;

/** Size of an entry as counted against maxSizePerMsgBytes and per-Ready limits. */
export function entrySizeBytes(e: Entry): number {
  return e.data.length + ENTRY_OVERHEAD_BYTES;
}

/** Size of an entry's payload as counted against maxUncommittedEntriesBytes. Empty entries
 * (the leader's no-op, the auto-leave conf change) count zero, so they are never refused. */
export function entryPayloadBytes(e: Entry): number {
  return e.data.length;
}

export function entriesSizeBytes(ents: readonly Entry[]): number {
  let n = 0;
  for (const e of ents) n += entrySizeBytes(e);
  return n;
}

export function entriesPayloadBytes(ents: readonly Entry[]): number {
  let n = 0;
  for (const e of ents) n += entryPayloadBytes(e);
  return n;
}

/** Keeps the longest prefix of ents whose total size is <= maxBytes, but always at least one
 * entry (so a single large entry still moves). */
export function limitSize(ents: Entry[], maxBytes: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySizeBytes(ents[0]!);
  let n = 1;
  while (n < ents.length) {
    size += entrySizeBytes(ents[n]!);
    if (size > maxBytes) break;
    n++;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}
