// What crosses Durable Object RPC between the front door and a member. Errors travel as
// plain {code, message} values: the platform drops custom properties of thrown errors.
import { EtcdError } from "../server/errors.ts";

export const UNARY_RPCS = [
  "Range",
  "Put",
  "DeleteRange",
  "Txn",
  "Compact",
  "LeaseGrant",
  "LeaseRevoke",
  "LeaseTimeToLive",
  "LeaseLeases",
  "LeaseKeepAlive",
] as const;
export type UnaryRpc = (typeof UNARY_RPCS)[number];

/** A unary answer. `leader` is the member's view of the current leader, a routing hint. */
export type UnaryResult<R = unknown> =
  | { ok: true; response: R; leader?: string }
  | { ok: false; code: number; message: string; leader?: string };

/** A member's raft view, for /_fault/status and maintenance status. */
export interface MemberStatus {
  member: string;
  role: string;
  term: number;
  leader: string;
  commit: number;
  applied: number;
  raftIndex: number;
  revision: number;
  voters: string[];
  learners: string[];
  paused: boolean;
  blocked: string[];
  /** The raft log's first index (above 1 once compacted or restored from a snapshot). */
  firstIndex: number;
  /** The last snapshot point (0 before the first). */
  snapshotIndex: number;
  /** Snapshots from a leader installed since this member's instance started. */
  snapshotsInstalled: number;
  /** Raft is quiesced: the cluster was idle and stopped ticking until something wakes it. */
  quiesced: boolean;
  /** The member's tick timer is set (false once quiesced with nothing waiting on time). */
  ticking: boolean;
}

/** Faults a test can inject into one member (local development only). */
export type MemberFault =
  | { kind: "block"; peers: string[] }
  | { kind: "pause"; ms: number }
  | { kind: "crash" };

export function failure(err: unknown): UnaryResult<never> {
  if (err instanceof EtcdError) return { ok: false, code: err.code, message: err.message };
  throw err;
}
