// The true history of the checker's keyspace, rebuilt from the answers to its own writes:
// every write that changed something reports its revision, and the checker alone writes
// these keys, so each revision's events are exactly that write's effects, in op order.
export interface Kv {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
}

export interface HEvent {
  type: "PUT" | "DELETE";
  key: string;
  /** PUT: the new value. */
  value: string;
  modRevision: number;
  createRevision: number;
  version: number;
  prev?: Kv;
}

/** One op of a write as the checker sent it, with what the answer said happened. */
export type AppliedOp = { put: string; value: string } | { del: string; deleted: boolean };

export class History {
  private readonly writes = new Map<number, AppliedOp[]>();
  private built: HEvent[] | null = null;

  /** Records a write that created revision rev (call only when it changed something). */
  record(rev: number, ops: AppliedOp[]): void {
    if (this.writes.has(rev)) throw new Error(`two writes answered with revision ${rev}`);
    this.writes.set(rev, ops);
    this.built = null;
  }

  /** The revisions recorded so far. */
  revisions(): number[] {
    return [...this.writes.keys()];
  }

  maxRevision(): number {
    return Math.max(0, ...this.writes.keys());
  }

  /** Every event in revision order, with versions and prev_kv replayed from the start. */
  events(): HEvent[] {
    if (this.built) return this.built;
    const live = new Map<string, Kv>();
    const out: HEvent[] = [];
    for (const rev of [...this.writes.keys()].sort((a, b) => a - b)) {
      for (const op of this.writes.get(rev)!) {
        if ("put" in op) {
          const prev = live.get(op.put);
          const kv: Kv = {
            key: op.put,
            value: op.value,
            createRevision: prev ? prev.createRevision : rev,
            modRevision: rev,
            version: prev ? prev.version + 1 : 1,
          };
          live.set(op.put, kv);
          out.push({ type: "PUT", key: op.put, value: op.value, modRevision: rev, createRevision: kv.createRevision, version: kv.version, prev });
        } else if (op.deleted) {
          const prev = live.get(op.del);
          if (!prev) throw new Error(`revision ${rev} deleted ${op.del}, which the history does not hold`);
          live.delete(op.del);
          out.push({ type: "DELETE", key: op.del, value: "", modRevision: rev, createRevision: 0, version: 0, prev });
        }
      }
    }
    // Revisions must be gap-free within the checker's writes only if nobody else writes;
    // gaps are fine (other keyspaces), order is what matters.
    this.built = out;
    return out;
  }

  /** Live keys and values after every recorded write. */
  finalState(): Map<string, string> {
    const state = new Map<string, string>();
    for (const e of this.events()) {
      if (e.type === "PUT") state.set(e.key, e.value);
      else state.delete(e.key);
    }
    return state;
  }
}
