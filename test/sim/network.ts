// SimNetwork: a seeded, lossy, reordering, duplicating network with symmetric and
// asymmetric partitions. Time is the simulator's integer clock; every delivery is an event
// in a priority queue ordered by (time, sequence number), so one seed gives one schedule.

import type { Prng } from "../../src/util/prng.ts";
import type { Message, NodeId } from "../../src/raft/index.ts";

export interface Delivery {
  at: number;
  seq: number;
  /** The member that actually sent it (a forwarded message keeps the original `from`). */
  sender: NodeId;
  msg: Message;
  /** For MsgSnap: whether the (chunked) transfer succeeds. */
  snapshotOk: boolean;
}

export interface NetworkFaults {
  dropP: number;
  duplicateP: number;
  /** Probability that a message takes a long detour (delays far beyond the usual). */
  longDelayP: number;
  delayMin: number;
  delayMax: number;
  longDelayMax: number;
  /** Probability that a snapshot transfer fails midway. */
  snapshotFailP: number;
  /** Extra loss for appends (big messages suffer more than heartbeats). */
  appendDropP: number;
}

export const CALM: NetworkFaults = {
  dropP: 0,
  duplicateP: 0,
  longDelayP: 0,
  delayMin: 1,
  delayMax: 4,
  longDelayMax: 4,
  snapshotFailP: 0,
  appendDropP: 0,
};

class Heap {
  #a: Delivery[] = [];
  get size(): number {
    return this.#a.length;
  }
  peek(): Delivery | undefined {
    return this.#a[0];
  }
  push(d: Delivery): void {
    const a = this.#a;
    a.push(d);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(a[p]!, a[i]!)) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): Delivery | undefined {
    const a = this.#a;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

function less(x: Delivery, y: Delivery): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

export class SimNetwork {
  readonly #rng: Prng;
  readonly #queue = new Heap();
  #seq = 0;
  faults: NetworkFaults = CALM;
  /** Directed links that lose everything: "from->to". */
  blocked = new Set<string>();
  sent = 0;
  dropped = 0;

  constructor(rng: Prng) {
    this.#rng = rng;
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.size > 0 && this.blocked.has(`${from}->${to}`);
  }

  /** Schedules m; returns false if it was lost at once (partition or drop). */
  send(now: number, sender: NodeId, m: Message): boolean {
    this.sent++;
    if (this.isBlocked(sender, m.to)) {
      this.dropped++;
      return false;
    }
    const f = this.faults;
    const rng = this.#rng;
    if (m.type === "MsgSnap") {
      // A snapshot moves in chunks: slower, and it may fail midway (the sender hears of it).
      const chunks = 1 + Math.floor((m.snapshot?.data.length ?? 0) / 256);
      const at = now + f.delayMin + rng.int(f.delayMax - f.delayMin + 1) + chunks * (1 + rng.int(3));
      this.#queue.push({ at, seq: this.#seq++, sender, msg: m, snapshotOk: !rng.chance(f.snapshotFailP) });
      return true;
    }
    if (rng.chance(f.dropP) || (m.type === "MsgApp" && rng.chance(f.appendDropP))) {
      this.dropped++;
      return false;
    }
    const copies = rng.chance(f.duplicateP) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay = rng.chance(f.longDelayP)
        ? f.delayMin + rng.int(f.longDelayMax - f.delayMin + 1)
        : f.delayMin + rng.int(f.delayMax - f.delayMin + 1);
      this.#queue.push({ at: now + delay, seq: this.#seq++, sender, msg: m, snapshotOk: true });
    }
    return true;
  }

  /** Removes and returns the next delivery due at or before now. */
  next(now: number): Delivery | undefined {
    const top = this.#queue.peek();
    if (!top || top.at > now) return undefined;
    return this.#queue.pop();
  }

  /** Puts a delivery back for later (its recipient is paused). */
  defer(d: Delivery, at: number): void {
    this.#queue.push({ ...d, at, seq: this.#seq++ });
  }

  inFlight(): number {
    return this.#queue.size;
  }
}
