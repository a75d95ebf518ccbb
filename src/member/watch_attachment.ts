// What a watch WebSocket carries across hibernation (its serialized attachment): the
// protocol, the stream's id counter, an unfinished JSON value, and every watcher with the
// next revision it needs. A synced watcher is saved as "synced" (nextRev 0): everything up
// to the store's revision was written to the socket, and the store's revision cannot move
// while the object sleeps, so on waking it resumes at the revision after the current one.
import type { SavedWatcher } from "../server/watch/hub.ts";
import type { WatcherSpec } from "../server/watch/watcher.ts";

export type SocketKind = "gateway" | "mux";

export interface SocketState {
  v: 1;
  kind: SocketKind;
  /** The stream's next server-chosen watch id. */
  nextId: number;
  /** Text after the last complete JSON value (a request split across frames). */
  rest: string;
  /** [spec, nextRev]; nextRev 0 = synced through the current revision. */
  watchers: [WatcherSpec, number][];
}

/** workerd refuses attachments above 16 KiB; stay under with room for the structure. */
export const ATTACHMENT_BUDGET_BYTES = 15_000;

export function emptySocketState(kind: SocketKind): SocketState {
  return { v: 1, kind, nextId: 0, rest: "", watchers: [] };
}

/** A close upper bound of the structured-clone size of a state. */
export function stateSizeBytes(s: SocketState): number {
  let n = 64 + s.rest.length * 3;
  for (const [spec] of s.watchers) n += 96 + spec.key.length + (spec.end?.length ?? 0);
  return n;
}

export function toSaved(state: SocketState, currentRev: number): SavedWatcher[] {
  // A synced watcher whose start revision is still ahead waits for it.
  return state.watchers.map(([spec, nextRev]) => ({ spec, nextRev: nextRev === 0 ? Math.max(currentRev + 1, spec.startRev) : nextRev }));
}

export function isSocketState(v: unknown): v is SocketState {
  return typeof v === "object" && v !== null && (v as { v?: unknown }).v === 1 && Array.isArray((v as SocketState).watchers);
}
