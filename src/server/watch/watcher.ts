// One watcher (etcd's mvcc watcher plus the per-watch flags of its gRPC stream).
import type { Event } from "../types.ts";
import { compareBytes } from "../../util/bytes.ts";
import { FILTER_NODELETE, FILTER_NOPUT } from "./types.ts";

export type WatcherState = "synced" | "unsynced" | "victim" | "compacted" | "canceled";

/** What a watcher's stream does with a response it is handed (see WatchStream). */
export interface WatcherSink {
  /** Queues an event or progress response; false when the stream's buffer is full. */
  offer(w: Watcher, events: Event[], revision: number): boolean;
  /** Queues a compacted-watch response; false when the buffer is full. */
  offerCompacted(w: Watcher, compactRevision: number): boolean;
  /** Whether offer() would accept a response now. */
  hasRoom(): boolean;
  /** What the hub would save for this watcher changed (see WatchStream.savedStateVersion). */
  changed(): void;
}

export interface WatcherSpec {
  id: number;
  key: Uint8Array;
  /** null: the single key; empty: every key >= key; otherwise [key, end). */
  end: Uint8Array | null;
  startRev: number;
  noPut: boolean;
  noDelete: boolean;
  prevKv: boolean;
  fragment: boolean;
  progressNotify: boolean;
}

export class Watcher {
  readonly id: number;
  readonly key: Uint8Array;
  readonly end: Uint8Array | null;
  /** The start revision the client asked for (0: now). */
  readonly startRev: number;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly prevKv: boolean;
  readonly fragment: boolean;
  readonly progressNotify: boolean;
  readonly sink: WatcherSink;
  private minRevValue: number;
  private stateValue: WatcherState = "unsynced";
  /** Set on a progress tick, cleared by events (etcd elides progress after an update). */
  progressDue = true;
  /**
   * A raft snapshot replaced the history under this watcher while it was synced: the
   * revision at the compaction point may have lost its tombstones, so it cannot be read.
   */
  displaced = false;

  constructor(spec: WatcherSpec, minRev: number, sink: WatcherSink) {
    this.id = spec.id;
    this.key = spec.key;
    this.end = spec.end;
    this.startRev = spec.startRev;
    this.noPut = spec.noPut;
    this.noDelete = spec.noDelete;
    this.prevKv = spec.prevKv;
    this.fragment = spec.fragment;
    this.progressNotify = spec.progressNotify;
    this.sink = sink;
    this.minRevValue = minRev;
    sink.changed();
  }

  /** The next revision this watcher needs (everything below it was handed to the stream). */
  get minRev(): number {
    return this.minRevValue;
  }

  set minRev(rev: number) {
    if (rev === this.minRevValue) return;
    this.minRevValue = rev;
    // A synced watcher is saved as "synced", whatever its next revision.
    if (this.stateValue !== "synced") this.sink.changed();
  }

  get state(): WatcherState {
    return this.stateValue;
  }

  set state(s: WatcherState) {
    if (s === this.stateValue) return;
    this.stateValue = s;
    this.sink.changed();
  }

  /** Whether the watched key or range holds key. */
  covers(key: Uint8Array): boolean {
    if (this.end === null) return compareBytes(this.key, key) === 0;
    if (compareBytes(key, this.key) < 0) return false;
    return this.end.length === 0 || compareBytes(key, this.end) < 0;
  }

  /** The events that pass this watcher's filters (etcd applies them in watcher.send). */
  filter(events: Event[]): Event[] {
    if (!this.noPut && !this.noDelete) return events;
    return events.filter((e) => !(e.type === "PUT" ? this.noPut : this.noDelete));
  }

  static spec(
    id: number,
    key: Uint8Array,
    end: Uint8Array | null,
    startRev: number,
    filters: number[],
    flags: { prevKv: boolean; fragment: boolean; progressNotify: boolean },
  ): WatcherSpec {
    return {
      id,
      key,
      end,
      startRev,
      noPut: filters.includes(FILTER_NOPUT),
      noDelete: filters.includes(FILTER_NODELETE),
      ...flags,
    };
  }
}
