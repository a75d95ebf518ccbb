// The watchers of one member (etcd's watchableStore with the request handling of its
// watch server), fed by the member's apply path and caught up from the revision history.
//
// - synced: has everything up to the store's revision; onApplied() hands it the events of
//   each new revision, one response per revision (atomic).
// - unsynced: behind (historical start, restored after a restart, a victim that missed
//   revisions); step() catches up to maxWatchersPerSync of them per round from the history,
//   at most batchMaxRevisions revisions and about syncBudgetBytes bytes per round, whole
//   revisions only. Watchers below the compaction revision get etcd's compacted response.
// - victims: a response was refused because the stream's buffer was full; the response is
//   kept and offered again by step() (never dropped), then the watcher rejoins synced or
//   unsynced. A slow stream never holds up apply.
//
// Synchronous and deterministic: the platform decides when to call onApplied(), step() and
// progressTick() (the progress interval is its configuration).
import { compareBytes } from "../../util/bytes.ts";
import type { Event, KeyValue } from "../types.ts";
import { WatchStream } from "./stream.ts";
import {
  DEFAULT_WATCH_LIMITS,
  INVALID_WATCH_ID,
  emptyResponse,
  type WatchCreateRequest,
  type WatchLimits,
  type WatchRequest,
} from "./types.ts";
import { Watcher, type WatcherSpec } from "./watcher.ts";
import { WatcherGroup } from "./watcher_group.ts";

/** The history the hub reads (MvccStore implements it). */
export interface WatchSource {
  rev(): number;
  /** -1 until the first compaction. */
  compactRev(): number;
  /** Events with fromRev <= mod revision <= toRev in order, whole revisions, about `limit` rows. */
  eventsBetween(fromRev: number, toRev: number, limit: number): { events: Event[]; nextRev: number; done: boolean };
  /** The key as of revision modRevision - 1, unless compacted. */
  prevKv(key: Uint8Array, modRevision: number): KeyValue | undefined;
  /** Registers a callback run before a compaction deletes history (MvccStore has it). */
  beforeCompaction?(read: () => void): void;
}

export const ERR_EMPTY_WATCHER_RANGE = "mvcc: watcher range is empty";
export const ERR_DUPLICATE_WATCH_ID = "mvcc: duplicate watch ID provided on the WatchStream";

interface Victim {
  watcher: Watcher;
  events: Event[];
  revision: number;
  /** minRev once the response is through. */
  nextRev: number;
}

/** A watcher as it can be saved and restored: its request and the next revision it needs. */
export interface SavedWatcher {
  spec: WatcherSpec;
  nextRev: number;
  /** Synced: it has been handed every revision up to the store's current one. */
  synced?: boolean;
}

export class WatchHub {
  readonly limits: WatchLimits;
  private readonly source: WatchSource;
  private readonly synced = new WatcherGroup();
  private readonly unsynced = new WatcherGroup();
  private victims: Victim[] = [];
  private readonly streams = new Set<WatchStream>();
  private nextStreamId = 1;
  /** Every revision up to this one has been handed to the synced watchers. */
  private notifiedRev: number;
  private prevKvMemo = new Map<Event, Event>();

  constructor(source: WatchSource, limits: Partial<WatchLimits> = {}) {
    this.source = source;
    this.limits = { ...DEFAULT_WATCH_LIMITS, ...limits };
    this.notifiedRev = source.rev();
    // A compaction applied in the same batch as the revisions before it (a delete whose
    // tombstone it removes) must not run before the synced watchers were handed them.
    source.beforeCompaction?.(() => this.onApplied());
  }

  openStream(): WatchStream {
    const s = new WatchStream(this.nextStreamId++, this.limits.streamBufferResponses);
    this.streams.add(s);
    return s;
  }

  /** The client went away: every watcher of the stream is canceled, nothing more is queued. */
  closeStream(s: WatchStream): void {
    for (const w of s.watchers.values()) this.detach(w);
    s.watchers.clear();
    s.closed = true;
    this.streams.delete(s);
  }

  streamCount(): number {
    return this.streams.size;
  }

  /** Counts for tests and metrics. */
  stats(): { synced: number; unsynced: number; victims: number; streams: number } {
    return { synced: this.synced.size, unsynced: this.unsynced.size, victims: this.victims.length, streams: this.streams.size };
  }

  /** Handles one request of the stream (etcd's recvLoop), queuing its control responses. */
  handle(s: WatchStream, req: WatchRequest): void {
    if ("createRequest" in req) this.create(s, req.createRequest);
    else if ("cancelRequest" in req) this.cancel(s, req.cancelRequest.watchId);
    else if ("progressRequest" in req) this.requestProgressAll(s);
    // No union member set: etcd ignores the request.
  }

  private create(s: WatchStream, c: WatchCreateRequest): void {
    this.onApplied();
    const key = c.key.length === 0 ? new Uint8Array([0]) : c.key;
    let end: Uint8Array | null = c.rangeEnd.length === 0 ? null : c.rangeEnd;
    if (end !== null && end.length === 1 && end[0] === 0) end = new Uint8Array(0);
    const wsrev = this.source.rev();
    const refuse = (reason: string) => {
      const r = emptyResponse(wsrev, INVALID_WATCH_ID);
      r.created = true;
      r.canceled = true;
      r.cancelReason = reason;
      s.control(r);
    };
    if (end !== null && end.length > 0 && compareBytes(key, end) >= 0) return refuse(ERR_EMPTY_WATCHER_RANGE);
    let id = c.watchId;
    if (id === 0) id = s.allocateId();
    else if (s.watchers.has(id)) return refuse(ERR_DUPLICATE_WATCH_ID);
    if (s.watchers.size >= this.limits.maxWatchersPerStream) {
      return refuse(`etcdo: too many watches on one stream (limit ${this.limits.maxWatchersPerStream})`);
    }
    const startRev = c.startRevision === 0 ? wsrev + 1 : c.startRevision;
    const spec = Watcher.spec(id, key, end, c.startRevision, c.filters, {
      prevKv: c.prevKv,
      fragment: c.fragment,
      progressNotify: c.progressNotify,
    });
    const created = emptyResponse(wsrev, id);
    created.created = true;
    s.control(created);
    this.attach(s, spec, startRev);
  }

  /**
   * Adds a watcher that needs revisions from startRev on (etcd's watchableStore.watch):
   * synced when startRev is in the future, unsynced otherwise.
   */
  private attach(s: WatchStream, spec: WatcherSpec, startRev: number): Watcher {
    const cur = this.source.rev();
    const synced = startRev > cur;
    const w = new Watcher(spec, synced ? Math.max(cur + 1, startRev) : startRev, s);
    s.watchers.set(spec.id, w);
    if (synced) {
      w.state = "synced";
      this.synced.add(w);
    } else {
      w.state = "unsynced";
      this.unsynced.add(w);
    }
    return w;
  }

  /**
   * Re-creates a saved watcher without any response (the client already had "created"):
   * it resumes at nextRev through the catch-up path.
   */
  restore(s: WatchStream, saved: SavedWatcher): Watcher {
    this.onApplied();
    const prev = s.watchers.get(saved.spec.id);
    if (prev) this.detach(prev);
    const w = this.attach(s, saved.spec, saved.nextRev);
    return w;
  }

  /** The watchers of a stream as they can be saved (canceled and compacted ones are left out). */
  save(s: WatchStream): SavedWatcher[] {
    const out: SavedWatcher[] = [];
    for (const w of s.watchers.values()) {
      if (w.state === "compacted" || w.state === "canceled") continue;
      const synced = w.state === "synced";
      out.push({ spec: specOf(w), nextRev: synced ? Math.max(w.minRev, this.notifiedRev + 1) : w.minRev, synced });
    }
    return out;
  }

  private cancel(s: WatchStream, id: number): void {
    const w = s.watchers.get(id);
    if (!w) return;
    this.detach(w);
    s.watchers.delete(id);
    const r = emptyResponse(this.source.rev(), id);
    r.canceled = true;
    s.control(r);
  }

  private detach(w: Watcher): void {
    if (w.state === "synced") this.synced.delete(w);
    else if (w.state === "unsynced") this.unsynced.delete(w);
    else if (w.state === "victim") this.victims = this.victims.filter((v) => v.watcher !== w);
    w.state = "canceled";
  }

  private allSynced(s: WatchStream): boolean {
    const rev = this.source.rev();
    for (const w of s.watchers.values()) {
      if (w.state === "compacted" || w.state === "canceled") continue;
      if (w.state !== "synced" || rev < w.startRev) return false;
    }
    return true;
  }

  /** etcd's WatchProgressRequest: watch_id -1 at the current revision once all are synced. */
  private requestProgressAll(s: WatchStream): void {
    this.onApplied();
    if (this.allSynced(s)) {
      s.control(emptyResponse(this.source.rev(), INVALID_WATCH_ID));
      s.progressAllPending = false;
    } else {
      s.progressAllPending = true;
    }
  }

  /**
   * The progress interval elapsed (etcd's progressTicker): every progress_notify watcher that
   * saw no events since the last tick and is synced gets an event-less response at the
   * current revision.
   */
  progressTick(): void {
    this.onApplied();
    const rev = this.source.rev();
    for (const s of this.streams) {
      for (const w of s.watchers.values()) {
        if (!w.progressNotify) continue;
        if (w.progressDue && w.state === "synced" && rev >= w.startRev) w.sink.offer(w, [], rev);
        w.progressDue = true;
      }
    }
  }

  // ---- the apply path -----------------------------------------------------------------

  /**
   * New revisions were applied: hand their events to the synced watchers, one response per
   * revision and watcher. Cheap when nobody is synced (only the counter moves).
   */
  onApplied(): void {
    const cur = this.source.rev();
    if (cur <= this.notifiedRev) return;
    if (this.synced.size === 0) {
      this.notifiedRev = cur;
      return;
    }
    if (this.source.compactRev() > this.notifiedRev) {
      // Only a raft snapshot replacing the store gets here (compactions in the apply path
      // notify first): revisions the synced watchers have not seen may be gone, the
      // compaction revision's tombstones included. Those that need such a revision are
      // reported compacted by the catch-up path; the others read what is left.
      for (const w of [...this.synced.watchers]) {
        w.displaced = true;
        this.moveTo(w, "unsynced");
      }
      this.notifiedRev = cur;
      return;
    }
    let from = this.notifiedRev + 1;
    while (from <= cur) {
      const page = this.source.eventsBetween(from, cur, this.limits.syncPageRows);
      let i = 0;
      while (i < page.events.length) {
        const rev = page.events[i]!.kv.modRevision;
        let j = i;
        while (j < page.events.length && page.events[j]!.kv.modRevision === rev) j++;
        this.notify(rev, page.events.slice(i, j));
        i = j;
      }
      from = page.done ? cur + 1 : page.nextRev;
    }
    this.notifiedRev = cur;
    this.prevKvMemo.clear();
  }

  /** etcd's notify: the events of one revision to the synced watchers. */
  private notify(rev: number, events: Event[]): void {
    const batches = new Map<Watcher, Event[]>();
    for (const ev of events) {
      this.synced.forEachWatching(ev.kv.key, (w) => {
        if (ev.kv.modRevision < w.minRev) return;
        const b = batches.get(w);
        if (b) b.push(ev);
        else batches.set(w, [ev]);
      });
    }
    for (const [w, evs] of batches) {
      w.minRev = rev + 1;
      if (!this.deliver(w, evs, rev)) {
        this.synced.delete(w);
        w.state = "victim";
        this.victims.push({ watcher: w, events: evs, revision: rev, nextRev: rev + 1 });
      }
    }
    // Synced watchers without events here still need nothing before rev + 1.
  }

  /** etcd's watcher.send plus the watch server's prev_kv: false when the buffer is full. */
  private deliver(w: Watcher, events: Event[], revision: number): boolean {
    let evs = w.filter(events);
    if (evs.length === 0 && events.length > 0) return true;
    if (w.prevKv) evs = evs.map((e) => this.withPrevKv(e));
    return w.sink.offer(w, evs, revision);
  }

  private withPrevKv(e: Event): Event {
    let out = this.prevKvMemo.get(e);
    if (!out) {
      out = { type: e.type, kv: e.kv };
      const isCreate = e.type === "PUT" && e.kv.createRevision === e.kv.modRevision;
      if (!isCreate) {
        const prev = this.source.prevKv(e.kv.key, e.kv.modRevision);
        if (prev) out.prevKv = prev;
      }
      this.prevKvMemo.set(e, out);
    }
    return out;
  }

  // ---- catch-up -----------------------------------------------------------------------

  /**
   * One round of background work: offer the victims' responses again, then catch up one
   * batch of unsynced watchers, then answer progress requests that waited for them.
   * Returns true while work remains (call again, yielding in between).
   */
  step(): boolean {
    this.onApplied();
    this.moveVictims();
    this.syncWatchers();
    this.answerPendingProgress();
    this.prevKvMemo.clear();
    return this.hasWork();
  }

  /** Whether step() has anything to do (for victims: only once their stream has room). */
  hasWork(): boolean {
    if (this.unsynced.size > 0) {
      for (const w of this.unsynced.watchers) if (w.sink.hasRoom()) return true;
    }
    return this.victims.some((v) => v.watcher.sink.hasRoom());
  }

  private moveVictims(): void {
    if (this.victims.length === 0) return;
    const cur = this.source.rev();
    const still: Victim[] = [];
    for (const v of this.victims) {
      if (!this.deliver(v.watcher, v.events, v.revision)) {
        still.push(v);
        continue;
      }
      const w = v.watcher;
      w.minRev = v.nextRev;
      if (w.minRev <= cur) {
        w.state = "unsynced";
        this.unsynced.add(w);
      } else {
        w.state = "synced";
        w.displaced = false;
        this.synced.add(w);
      }
    }
    this.victims = still;
  }

  private syncWatchers(): void {
    if (this.unsynced.size === 0) return;
    const cur = this.source.rev();
    const compactRev = this.source.compactRev();
    const chosen = new WatcherGroup();
    let minRev = Infinity;
    for (const w of this.unsynced.watchers) {
      if (chosen.size >= this.limits.maxWatchersPerSync) break;
      if (!w.sink.hasRoom()) continue;
      // etcd serves a watch from the compaction revision itself; a displaced watcher has
      // no such promise to rely on (see onApplied).
      if (w.minRev < compactRev || (w.displaced && w.minRev === compactRev)) {
        if (w.sink.offerCompacted(w, compactRev)) {
          this.unsynced.delete(w);
          w.state = "compacted";
        }
        continue;
      }
      if (w.minRev > cur) {
        this.moveTo(w, "synced");
        continue;
      }
      chosen.add(w);
      minRev = Math.min(minRev, w.minRev);
    }
    if (chosen.size === 0) return;

    const { events, end } = this.readWindow(minRev, cur);
    const batches = new Map<Watcher, Event[]>();
    for (const ev of events) {
      chosen.forEachWatching(ev.kv.key, (w) => {
        if (ev.kv.modRevision < w.minRev) return;
        const b = batches.get(w);
        if (b) b.push(ev);
        else batches.set(w, [ev]);
      });
    }
    for (const w of chosen.watchers) {
      if (w.minRev > end) continue;
      const evs = batches.get(w);
      if (evs && !this.deliver(w, evs, cur)) {
        this.unsynced.delete(w);
        w.state = "victim";
        this.victims.push({ watcher: w, events: evs, revision: cur, nextRev: end + 1 });
        continue;
      }
      w.minRev = end + 1;
      if (w.minRev > cur) this.moveTo(w, "synced");
    }
  }

  /** History from minRev: at most batchMaxRevisions revisions and about syncBudgetBytes. */
  private readWindow(minRev: number, cur: number): { events: Event[]; end: number } {
    const to = Math.min(cur, minRev + this.limits.batchMaxRevisions - 1);
    const events: Event[] = [];
    let bytes = 0;
    let from = minRev;
    for (;;) {
      const page = this.source.eventsBetween(from, to, this.limits.syncPageRows);
      for (const e of page.events) {
        events.push(e);
        bytes += e.kv.key.length + e.kv.value.length;
      }
      if (page.done) return { events, end: to };
      from = page.nextRev;
      if (bytes >= this.limits.syncBudgetBytes) return { events, end: from - 1 };
    }
  }

  private moveTo(w: Watcher, state: "synced" | "unsynced"): void {
    if (w.state === "synced") this.synced.delete(w);
    else if (w.state === "unsynced") this.unsynced.delete(w);
    w.state = state;
    if (state === "synced") {
      w.displaced = false;
      this.synced.add(w);
    }
    else this.unsynced.add(w);
  }

  private answerPendingProgress(): void {
    for (const s of this.streams) {
      if (s.progressAllPending && this.allSynced(s)) {
        s.control(emptyResponse(this.source.rev(), INVALID_WATCH_ID));
        s.progressAllPending = false;
      }
    }
  }
}

function specOf(w: Watcher): WatcherSpec {
  return {
    id: w.id,
    key: w.key,
    end: w.end,
    startRev: w.startRev,
    noPut: w.noPut,
    noDelete: w.noDelete,
    prevKv: w.prevKv,
    fragment: w.fragment,
    progressNotify: w.progressNotify,
  };
}
