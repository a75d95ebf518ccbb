import { DEFAULT_CATCH_UP_ENTRIES, DEFAULT_SNAPSHOT_ENTRIES } from "../server/etcd_node.ts";
import type { Member } from "./member.ts";

/** The Worker's bindings and configuration variables (see wrangler.jsonc and README). */
export interface Env {
  MEMBER: DurableObjectNamespace<Member>;
  /** This deployment's cluster name; member objects are named "<cluster>/<member>". */
  ETCDO_CLUSTER: string;
  /** The initial members, comma-separated (e.g. "m1,m2,m3"). */
  ETCDO_MEMBERS: string;
  /** "on" enables the fault-injection API (/_fault): local development and tests only. */
  ETCDO_FAULTS: string;
  /** Milliseconds per raft tick (heartbeat interval = 1 tick). Default 100. */
  ETCDO_TICK_MS?: string;
  /** Ticks before a follower without a leader campaigns. Default 10. */
  ETCDO_ELECTION_TICKS?: string;
  /** How long a request may wait for its proposal or read. Default 5 s + 2 election timeouts. */
  ETCDO_REQUEST_TIMEOUT_MS?: string;
  /** Watch progress_notify interval in ms (etcd's default: 10 minutes). */
  ETCDO_WATCH_PROGRESS_MS?: string;
  /** Applied entries between raft snapshots, after which the log is compacted (etcd's
   * --snapshot-count). Default 10000; 0 never compacts. */
  ETCDO_SNAPSHOT_COUNT?: string;
  /** Entries kept below a snapshot for slow followers (etcd's
   * --experimental-snapshot-catchup-entries). Default 5000. */
  ETCDO_SNAPSHOT_CATCHUP_ENTRIES?: string;
  /** Ticks an idle leader waits before the cluster stops ticking (quiesces). Default two
   * election timeouts; 0 keeps members ticking always. */
  ETCDO_QUIESCE_TICKS?: string;
}

export interface MemberConfig {
  clusterName: string;
  initialMembers: string[];
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  requestTimeoutMs: number;
  faultsEnabled: boolean;
  snapshotEntries: number;
  catchUpEntries: number;
  quiesceAfterTicks: number;
}

function nonNegativeInt(text: string | undefined, fallback: number): number {
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}

function positiveInt(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

export function memberConfig(env: Env): MemberConfig {
  const tickMs = positiveInt(env.ETCDO_TICK_MS, 100);
  const electionTicks = positiveInt(env.ETCDO_ELECTION_TICKS, 10);
  const names = (env.ETCDO_MEMBERS ?? "m1").split(",").map((s) => s.trim()).filter(Boolean);
  return {
    clusterName: env.ETCDO_CLUSTER || "default",
    initialMembers: names.length > 0 ? names : ["m1"],
    tickMs,
    electionTicks,
    heartbeatTicks: 1,
    requestTimeoutMs: positiveInt(env.ETCDO_REQUEST_TIMEOUT_MS, 5000 + 2 * electionTicks * tickMs),
    faultsEnabled: env.ETCDO_FAULTS === "on",
    snapshotEntries: nonNegativeInt(env.ETCDO_SNAPSHOT_COUNT, DEFAULT_SNAPSHOT_ENTRIES),
    catchUpEntries: nonNegativeInt(env.ETCDO_SNAPSHOT_CATCHUP_ENTRIES, DEFAULT_CATCH_UP_ENTRIES),
    quiesceAfterTicks: nonNegativeInt(env.ETCDO_QUIESCE_TICKS, 2 * electionTicks),
  };
}
