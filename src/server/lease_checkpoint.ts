// Lease checkpoints through the log (etcd's lessor checkpointing): the leader records the
// remaining TTL of long leases every checkpoint interval, so that a new leader restarts a
// lease's clock from what was left rather than from its full TTL.
//
// The bound this gives (docs/locks.md, README "Leases"): with checkpoint interval C and
// election timeout E, a lease whose keepalives stopped is revoked no earlier than its TTL
// after the last keepalive answer, and no later than that plus, for each leader change in
// between, min(TTL, C) + E + 1 s, plus the time the cluster had no leader. A keepalive that
// is answered has cleared any shorter recorded TTL first, so checkpoints never expire a
// lease early.
import { MAX_CHECKPOINT_BATCH } from "../lease/lessor.ts";
import type { InternalRequest, LeaseCheckpoint } from "./internal_request.ts";

interface Proposer {
  ownRequestId(): number;
  propose(request: InternalRequest): unknown;
}

/** Proposes checkpoints in entries of at most MAX_CHECKPOINT_BATCH leases. */
export function proposeLeaseCheckpoints(node: Proposer, due: readonly LeaseCheckpoint[]): void {
  for (let i = 0; i < due.length; i += MAX_CHECKPOINT_BATCH) {
    node.propose(leaseCheckpointRequest(node.ownRequestId(), due.slice(i, i + MAX_CHECKPOINT_BATCH)));
  }
}

export function leaseCheckpointRequest(requestId: number, checkpoints: LeaseCheckpoint[]): InternalRequest {
  return { op: "leaseCheckpoint", id: requestId, request: { checkpoints } };
}

/** The entry a renewal proposes to clear a recorded remaining TTL (back to the full TTL). */
export function clearCheckpointRequest(requestId: number, leaseId: bigint): InternalRequest {
  return leaseCheckpointRequest(requestId, [{ ID: leaseId, remainingTtlSeconds: 0 }]);
}
