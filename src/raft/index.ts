/**
 * @module
 * The raft core: a pure, deterministic consensus state machine in the style of etcd-io/raft.
 * Inputs: tick(), step(message), propose(data), proposeConfChange(cc), readIndex(ctx),
 * transferLeader(id), campaign(). Output: a Ready (see its doc for the persist → send →
 * apply → advance order). No I/O, clock or global randomness.
 */

export { RawNode, confChangeOf, type Ready, type SoftState, type Status, type ProgressStatus, type SnapshotStatus } from "./raw-node.ts";
export type { Config, CampaignType } from "./raft.ts";
export { MemoryStorage, type Storage, type InitialState } from "./storage.ts";
export {
  RaftError,
  ErrProposalDropped,
  ErrCompacted,
  ErrSnapOutOfDate,
  ErrUnavailable,
  ErrSnapshotTemporarilyUnavailable,
  ErrStepLocalMsg,
  ErrStepPeerNotFound,
} from "./errors.ts";
export { ConfChangeError, encodeConfChange, decodeConfChange, describeConfChange } from "./confchange.ts";
export { describeEntry, describeMessage, describeReady, describeHardState, describeSnapshot } from "./describe.ts";
export type { Logger, LogLevel } from "./logger.ts";
export type { ReadOnlyOption } from "./read-only.ts";
export {
  None,
  newMessage,
  emptyConfState,
  isEmptySnapshot,
  type NodeId,
  type Entry,
  type EntryType,
  type HardState,
  type ConfState,
  type Snapshot,
  type SnapshotMetadata,
  type Message,
  type MessageType,
  type ConfChange,
  type ConfChangeSingle,
  type ConfChangeType,
  type ConfChangeTransition,
  type StateRole,
  type ReadState,
} from "./types.ts";
