// Error values of the raft core. Expected conditions (a dropped proposal, a compacted index)
// are these sentinel values, compared by identity; broken invariants throw a plain Error
// whose message names the likely cause.

export class RaftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RaftError";
  }
}

/** A proposal was not appended: no known leader, a leadership transfer is in progress, the
 * uncommitted log is over its size limit, or this node is not in the configuration. */
export const ErrProposalDropped = new RaftError("raft proposal dropped");

/** Storage: the requested index is older than the first available one (compacted). */
export const ErrCompacted = new RaftError("requested index is unavailable due to compaction");

/** Storage: the snapshot is older than the one already held. */
export const ErrSnapOutOfDate = new RaftError("requested index is older than the existing snapshot");

/** Storage: the requested index is beyond the last one. */
export const ErrUnavailable = new RaftError("requested entry at index is unavailable");

/** Storage: no snapshot can be produced right now; raft retries later. */
export const ErrSnapshotTemporarilyUnavailable = new RaftError("snapshot is temporarily unavailable");

/** RawNode.step was given a message type that only the node itself may generate. */
export const ErrStepLocalMsg = new RaftError("raft: cannot step raft local message");

/** RawNode.step was given a response from a node that is not in the configuration. */
export const ErrStepPeerNotFound = new RaftError("raft: cannot step as peer not found");

/** Throws if cond is false: for programmer errors and corrupted state only. */
export function assert(cond: boolean, message: string): asserts cond {
  if (!cond) throw new Error(`raft: ${message}`);
}
