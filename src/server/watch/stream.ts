// One client watch stream (etcd's serverWatchStream + mvcc watchStream): its watchers by id,
// the id allocator, and the ordered queue of responses waiting for the transport. Event and
// progress responses count against a bounded buffer (etcd's chanBufLen); a full buffer
// refuses them and the hub turns the watcher into a victim. Control responses (created,
// canceled, stream-wide progress) are always queued, in order with everything else.
import type { Event } from "../types.ts";
import { emptyResponse, type WatchResponse } from "./types.ts";
import type { Watcher, WatcherSink } from "./watcher.ts";

export interface QueuedResponse {
  response: WatchResponse;
  /** The watcher asked for fragmenting: the transport may split this response. */
  fragment: boolean;
  /** The watcher this response belongs to (undefined for stream-wide responses). */
  watcher?: Watcher;
}

export class WatchStream implements WatcherSink {
  readonly id: number;
  readonly watchers = new Map<number, Watcher>();
  /** A progress request waits here until every watcher of the stream is synced. */
  progressAllPending = false;
  /**
   * Bumped whenever what WatchHub.save() reports for this stream may have changed (a watcher
   * added, removed or changing state, or the next revision of one that is not synced), so a
   * transport that persists it can skip the unchanged case cheaply.
   */
  savedStateVersion = 0;
  closed = false;
  private nextId = 0;
  private readonly queue: Entry[] = [];
  private head = 0;
  private buffered = 0;
  private readonly capacity: number;

  constructor(id: number, capacity: number) {
    this.id = id;
    this.capacity = capacity;
  }

  /** The next server-chosen id (saved with the stream). */
  get nextAutoId(): number {
    return this.nextId;
  }

  set nextAutoId(n: number) {
    this.nextId = n;
  }

  /** etcd's AutoWatchID allocation: the lowest unused id from a counter that only grows. */
  allocateId(): number {
    while (this.watchers.has(this.nextId)) this.nextId++;
    return this.nextId++;
  }

  offer(w: Watcher, events: Event[], revision: number): boolean {
    if (this.closed) return true;
    if (this.buffered >= this.capacity) return false;
    const r = emptyResponse(revision, w.id);
    r.events = events;
    if (events.length > 0) w.progressDue = false;
    this.queue.push({ response: r, fragment: w.fragment, watcher: w, counted: true });
    this.buffered++;
    return true;
  }

  offerCompacted(w: Watcher, compactRevision: number): boolean {
    if (this.closed) return true;
    if (this.buffered >= this.capacity) return false;
    const r = emptyResponse(0, w.id);
    r.compactRevision = compactRevision;
    r.canceled = compactRevision !== 0;
    this.queue.push({ response: r, fragment: false, watcher: w, counted: true });
    this.buffered++;
    return true;
  }

  /** A control response: never refused. */
  control(r: WatchResponse): void {
    if (this.closed) return;
    this.queue.push({ response: r, fragment: false, counted: false });
  }

  changed(): void {
    this.savedStateVersion++;
  }

  /** Whether an event response would be accepted now. */
  hasRoom(): boolean {
    return this.buffered < this.capacity;
  }

  pending(): number {
    return this.queue.length - this.head;
  }

  /** Removes and returns up to max queued responses, oldest first. */
  take(max = Infinity): QueuedResponse[] {
    const n = Math.min(max, this.queue.length - this.head);
    const out = this.queue.slice(this.head, this.head + n);
    this.head += n;
    for (const q of out) if (q.counted) this.buffered--;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return out;
  }
}

interface Entry extends QueuedResponse {
  /** Counts against the buffer (event, progress and compacted responses). */
  counted: boolean;
}
