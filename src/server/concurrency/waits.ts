// Lock waiters and election observers on one member, woken from its apply path. Pure and
// synchronous: the member calls onApplied() after each round of applied entries; waiters
// resolve or fail through the callbacks they registered.
//
// A waiter (Mutex.Lock / Election.Campaign after creating its key) holds the turn once no key
// under the prefix has a smaller create revision than its own. It is re-checked only when its
// own key or its immediate predecessor is deleted (found in the round's events), so releasing
// a lock wakes exactly one waiter. A waiter whose own key disappears (its lease expired or was
// revoked, or someone deleted it) fails with "session expired" instead of acquiring: etcd
// 3.4's Mutex.Lock returned success then (the Jepsen finding); etcd 3.5 checks as here.
//
// When the events of a round are unavailable (compacted, or too many), every waiter and
// observer is re-checked against the current state instead; the outcome is the same.
import type { Event, KeyValue, RangeRequest, RangeResponse } from "../types.ts";
import { ConcurrencyErrors, firstCreateRequest, hexOf, predecessorRequest, rangeRequest } from "./recipes.ts";
import type { EtcdError } from "../errors.ts";

export interface WaitStore {
  rev(): number;
  compactRev(): number;
  eventsBetween(fromRev: number, toRev: number, limit: number): { events: Event[]; done: boolean };
  /** A serializable range on this member's applied state. */
  range(r: RangeRequest): RangeResponse;
}

export interface TurnWaiter {
  prefix: Uint8Array;
  key: Uint8Array;
  createRev: number;
  /** The turn is held at this store revision. */
  acquired(rev: number): void;
  failed(err: EtcdError): void;
}

export interface Observer {
  prefix: Uint8Array;
  /** The leader key as last sent (undefined: no leader yet). */
  current?: KeyValue;
  /** Revisions at or below this were already reflected in what was sent. */
  seenRev: number;
  emit(kv: KeyValue, headerRev: number): void;
}

const MAX_EVENTS_PER_ROUND = 10_000;

export class ConcurrencyWaits {
  private readonly store: WaitStore;
  private lastRev: number;
  private readonly waiters = new Set<TurnWaiter>();
  /** hex(key) → waiters to re-check when that key is deleted. */
  private readonly byKey = new Map<string, Set<TurnWaiter>>();
  private readonly watched = new Map<TurnWaiter, string[]>();
  private readonly observers = new Set<Observer>();

  constructor(store: WaitStore) {
    this.store = store;
    this.lastRev = store.rev();
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /** Registers a waiter and checks it at once (it may acquire or fail synchronously). */
  addWaiter(w: TurnWaiter): void {
    this.waiters.add(w);
    this.check(w);
  }

  removeWaiter(w: TurnWaiter): void {
    this.waiters.delete(w);
    this.unindex(w);
  }

  /** Registers an observer; the caller has sent what it saw at observer.seenRev. */
  addObserver(o: Observer): void {
    this.observers.add(o);
    if (!o.current) this.findLeader(o, true);
  }

  removeObserver(o: Observer): void {
    this.observers.delete(o);
  }

  /** The member applied entries: wake whoever they concern. */
  onApplied(): void {
    const rev = this.store.rev();
    if (rev === this.lastRev) return;
    const from = this.lastRev + 1;
    this.lastRev = rev;
    if (this.waiters.size === 0 && this.observers.size === 0) return;
    let events: Event[] | null = null;
    if (from > this.store.compactRev()) {
      const page = this.store.eventsBetween(from, rev, MAX_EVENTS_PER_ROUND);
      if (page.done) events = page.events;
    }
    if (events === null) {
      for (const w of [...this.waiters]) this.check(w);
      for (const o of [...this.observers]) this.recheckObserver(o);
      return;
    }
    const toCheck = new Set<TurnWaiter>();
    for (const ev of events) {
      if (ev.type !== "DELETE") continue;
      const set = this.byKey.get(hexOf(ev.kv.key));
      if (set) for (const w of set) toCheck.add(w);
    }
    for (const w of toCheck) if (this.waiters.has(w)) this.check(w);
    for (const o of [...this.observers]) this.observe(o, events);
  }

  private check(w: TurnWaiter): void {
    const own = this.store.range(rangeRequest(w.key, { serializable: true })).kvs[0];
    if (!own || own.createRevision !== w.createRev) {
      this.removeWaiter(w);
      w.failed(ConcurrencyErrors.SessionExpired);
      return;
    }
    const pred = this.store.range(predecessorRequest(w.prefix, w.createRev - 1)).kvs[0];
    if (!pred) {
      this.removeWaiter(w);
      w.acquired(this.store.rev());
      return;
    }
    this.unindex(w);
    const keys = [hexOf(w.key), hexOf(pred.key)];
    this.watched.set(w, keys);
    for (const k of keys) (this.byKey.get(k) ?? this.byKey.set(k, new Set()).get(k)!).add(w);
  }

  private unindex(w: TurnWaiter): void {
    for (const k of this.watched.get(w) ?? []) {
      const set = this.byKey.get(k);
      set?.delete(w);
      if (set && set.size === 0) this.byKey.delete(k);
    }
    this.watched.delete(w);
  }

  /** etcd's Election.observe over one round of events. */
  private observe(o: Observer, events: Event[]): void {
    for (const ev of events) {
      if (ev.kv.modRevision <= o.seenRev) continue;
      if (!o.current) {
        // The state is already at the round's end: what findLeader() sees covers the rest.
        if (ev.type === "PUT" && startsWith(ev.kv.key, o.prefix)) this.findLeader(o, true);
        continue;
      }
      if (!sameKey(ev.kv.key, o.current.key)) continue;
      o.seenRev = ev.kv.modRevision;
      if (ev.type === "PUT") {
        o.current = ev.kv;
        o.emit(ev.kv, ev.kv.modRevision);
      } else {
        o.current = undefined;
        this.findLeader(o, false);
      }
    }
    o.seenRev = Math.max(o.seenRev, this.store.rev());
  }

  /** Without events: compare the current leader with what was sent. */
  private recheckObserver(o: Observer): void {
    const kv = this.store.range(firstCreateRequest(o.prefix, true)).kvs[0];
    const cur = o.current;
    o.seenRev = this.store.rev();
    if (!kv) {
      o.current = undefined;
      return;
    }
    if (cur && sameKey(cur.key, kv.key) && cur.modRevision === kv.modRevision) return;
    o.current = kv;
    o.emit(kv, cur && sameKey(cur.key, kv.key) ? kv.modRevision : this.store.rev());
  }

  /**
   * The first contender now. fromPut: reached by a PUT while there was no leader (etcd
   * answers with the key's mod revision then), else after the leader key's deletion (etcd's
   * Get answers with the store's revision).
   */
  private findLeader(o: Observer, fromPut: boolean): void {
    const kv = this.store.range(firstCreateRequest(o.prefix, true)).kvs[0];
    if (!kv) return;
    o.current = kv;
    o.seenRev = this.store.rev();
    o.emit(kv, fromPut ? kv.modRevision : this.store.rev());
  }
}

function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && startsWith(a, b);
}
