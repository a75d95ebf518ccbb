// A set of watchers indexed for "who watches this key" (etcd's watcherGroup): a map for
// single-key watchers and, for ranges, the distinct intervals sorted by start with a running
// maximum of their ends, so a stab walks back only while some earlier interval can still
// reach the key. Identical intervals share one entry (many watchers on one prefix cost one).
import { compareBytes } from "../../util/bytes.ts";
import type { Watcher } from "./watcher.ts";

/** Map key for a byte string (one char per byte). */
export function byteKey(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x4000) s += String.fromCharCode(...b.subarray(i, i + 0x4000));
  return s;
}

interface Interval {
  start: Uint8Array;
  /** Empty: unbounded (every key >= start). */
  end: Uint8Array;
  watchers: Set<Watcher>;
}

/** a < b for interval ends, where an empty end is +infinity. */
function endAfter(end: Uint8Array, key: Uint8Array): boolean {
  return end.length === 0 || compareBytes(key, end) < 0;
}

function maxEnd(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0 || b.length === 0) return new Uint8Array(0);
  return compareBytes(a, b) >= 0 ? a : b;
}

export class WatcherGroup {
  readonly watchers = new Set<Watcher>();
  private readonly keyWatchers = new Map<string, Set<Watcher>>();
  private readonly intervals = new Map<string, Interval>();
  private sorted: Interval[] | null = [];
  private runningMaxEnd: Uint8Array[] = [];

  get size(): number {
    return this.watchers.size;
  }

  has(w: Watcher): boolean {
    return this.watchers.has(w);
  }

  add(w: Watcher): void {
    if (this.watchers.has(w)) throw new Error("watcher added twice");
    this.watchers.add(w);
    if (w.end === null) {
      const k = byteKey(w.key);
      let set = this.keyWatchers.get(k);
      if (!set) this.keyWatchers.set(k, (set = new Set()));
      set.add(w);
      return;
    }
    const ik = intervalKey(w.key, w.end);
    let iv = this.intervals.get(ik);
    if (!iv) {
      iv = { start: w.key, end: w.end, watchers: new Set() };
      this.intervals.set(ik, iv);
      this.sorted = null;
    }
    iv.watchers.add(w);
  }

  delete(w: Watcher): boolean {
    if (!this.watchers.delete(w)) return false;
    if (w.end === null) {
      const k = byteKey(w.key);
      const set = this.keyWatchers.get(k)!;
      set.delete(w);
      if (set.size === 0) this.keyWatchers.delete(k);
      return true;
    }
    const ik = intervalKey(w.key, w.end);
    const iv = this.intervals.get(ik)!;
    iv.watchers.delete(w);
    if (iv.watchers.size === 0) {
      this.intervals.delete(ik);
      this.sorted = null;
    }
    return true;
  }

  /** Calls fn once for every watcher whose key or range holds key. */
  forEachWatching(key: Uint8Array, fn: (w: Watcher) => void): void {
    const exact = this.keyWatchers.get(byteKey(key));
    if (exact) for (const w of exact) fn(w);
    if (this.intervals.size === 0) return;
    const sorted = this.index();
    // Last interval whose start <= key.
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(sorted[mid]!.start, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0; i--) {
      if (!endAfter(this.runningMaxEnd[i]!, key)) break;
      const iv = sorted[i]!;
      if (endAfter(iv.end, key)) for (const w of iv.watchers) fn(w);
    }
  }

  /** Whether any watcher watches key (etcd's contains). */
  watches(key: Uint8Array): boolean {
    let found = false;
    this.forEachWatching(key, () => {
      found = true;
    });
    return found;
  }

  private index(): Interval[] {
    if (this.sorted) return this.sorted;
    const sorted = [...this.intervals.values()].sort((a, b) => compareBytes(a.start, b.start));
    const runningMaxEnd: Uint8Array[] = [];
    let m: Uint8Array | null = null;
    for (const iv of sorted) {
      m = m === null ? iv.end : maxEnd(m, iv.end);
      runningMaxEnd.push(m);
    }
    this.sorted = sorted;
    this.runningMaxEnd = runningMaxEnd;
    return sorted;
  }
}

function intervalKey(start: Uint8Array, end: Uint8Array): string {
  // Length-prefixed so distinct (start, end) pairs never collide.
  return `${start.length}:${byteKey(start)}${byteKey(end)}`;
}
