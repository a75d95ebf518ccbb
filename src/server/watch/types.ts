// etcd's Watch RPC messages (etcdserverpb.WatchRequest / WatchResponse) as etcdo values,
// and the limits of the watch machinery with etcd's defaults.
import type { Event } from "../types.ts";

/** etcd's WatchCreateRequest.FilterType numbers. Unknown numbers are accepted and ignored. */
export const FILTER_NOPUT = 0;
export const FILTER_NODELETE = 1;

export interface WatchCreateRequest {
  key: Uint8Array;
  rangeEnd: Uint8Array;
  startRevision: number;
  progressNotify: boolean;
  filters: number[];
  prevKv: boolean;
  /** Client-chosen id; 0 asks the server to choose (etcd's AutoWatchID). */
  watchId: number;
  fragment: boolean;
}

export interface WatchCancelRequest {
  watchId: number;
}

/** One request of a watch stream; `empty` is etcd's request with no union member set. */
export type WatchRequest =
  | { createRequest: WatchCreateRequest }
  | { cancelRequest: WatchCancelRequest }
  | { progressRequest: Record<string, never> }
  | { empty: true };

/**
 * A response before the member fills in cluster_id, member_id and raft_term. `revision` 0
 * leaves header.revision out (etcd's compacted-watch response).
 */
export interface WatchResponse {
  revision: number;
  watchId: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  fragment: boolean;
  events: Event[];
}

/** etcd's clientv3.InvalidWatchID: stream-wide progress and refused creates. */
export const INVALID_WATCH_ID = -1;

export interface WatchLimits {
  /** Responses buffered per stream before a watcher becomes a victim (etcd's chanBufLen). */
  streamBufferResponses: number;
  /** Unsynced watchers caught up per round (etcd's maxWatchersPerSync). */
  maxWatchersPerSync: number;
  /** Distinct revisions per catch-up response (etcd's watchBatchMaxRevs). */
  batchMaxRevisions: number;
  /** Bytes of history (keys + values) read per catch-up round; whole revisions always. */
  syncBudgetBytes: number;
  /** Rows per history page read. */
  syncPageRows: number;
  /** Watchers one stream may hold. */
  maxWatchersPerStream: number;
}

export const DEFAULT_WATCH_LIMITS: WatchLimits = {
  streamBufferResponses: 128,
  maxWatchersPerSync: 512,
  batchMaxRevisions: 1000,
  syncBudgetBytes: 8 * 1024 * 1024,
  syncPageRows: 256,
  maxWatchersPerStream: 4096,
};

export function emptyResponse(revision: number, watchId: number): WatchResponse {
  return {
    revision,
    watchId,
    created: false,
    canceled: false,
    compactRevision: 0,
    cancelReason: "",
    fragment: false,
    events: [],
  };
}
