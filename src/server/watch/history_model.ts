// An in-memory revision history with etcd's semantics, implementing WatchSource: for the
// hub's unit tests and the watch checker's expected answers. Not used by the server.
import { bytesEqual } from "../../util/bytes.ts";
import type { Event, KeyValue } from "../types.ts";
import type { WatchSource } from "./hub.ts";

export type Op = { put: [Uint8Array, Uint8Array] } | { del: Uint8Array };

export class HistoryModel implements WatchSource {
  /** Events in revision order. */
  readonly events: Event[] = [];
  private current = 1;
  private compacted = -1;
  private readonly live = new Map<string, KeyValue>();

  rev(): number {
    return this.current;
  }

  compactRev(): number {
    return this.compacted;
  }

  /** Applies ops as one revision (a txn); a revision that changes nothing is not created. */
  txn(ops: Op[]): number {
    const rev = this.current + 1;
    const evs: Event[] = [];
    for (const op of ops) {
      if ("put" in op) {
        const [key, value] = op.put;
        const prev = this.live.get(hex(key));
        const kv: KeyValue = {
          key,
          value,
          createRevision: prev ? prev.createRevision : rev,
          modRevision: rev,
          version: prev ? prev.version + 1 : 1,
          lease: 0n,
        };
        this.live.set(hex(key), kv);
        evs.push({ type: "PUT", kv });
      } else if (this.live.delete(hex(op.del))) {
        evs.push({ type: "DELETE", kv: { key: op.del, value: new Uint8Array(0), createRevision: 0, modRevision: rev, version: 0, lease: 0n } });
      }
    }
    if (evs.length === 0) return this.current;
    this.events.push(...evs);
    this.current = rev;
    return rev;
  }

  put(key: string, value: string): number {
    return this.txn([{ put: [enc(key), enc(value)] }]);
  }

  del(key: string): number {
    return this.txn([{ del: enc(key) }]);
  }

  compact(rev: number): void {
    this.compacted = rev;
  }

  eventsBetween(fromRev: number, toRev: number, limit: number): { events: Event[]; nextRev: number; done: boolean } {
    const all = this.events.filter((e) => e.kv.modRevision >= fromRev && e.kv.modRevision <= toRev);
    if (all.length <= limit) return { events: all, nextRev: toRev + 1, done: true };
    const last = all[limit - 1]!.kv.modRevision;
    const events = all.filter((e) => e.kv.modRevision <= last);
    return { events, nextRev: last + 1, done: last + 1 > toRev };
  }

  prevKv(key: Uint8Array, modRevision: number): KeyValue | undefined {
    if (modRevision - 1 < this.compacted) return undefined;
    let found: KeyValue | undefined;
    for (const e of this.events) {
      if (e.kv.modRevision > modRevision - 1) break;
      if (!bytesEqual(e.kv.key, key)) continue;
      found = e.type === "PUT" ? e.kv : undefined;
    }
    return found;
  }
}

const encoder = new TextEncoder();
export const enc = (s: string): Uint8Array => encoder.encode(s);

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
