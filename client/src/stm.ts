// Software transactional memory on txn, as clientv3/concurrency's STM: `apply` reads and
// writes through the STM, which commits the writes in one txn guarded by what the
// isolation level needs, and runs `apply` again when another writer got in between.
//
//   serializableSnapshot (default): reads from the revision of the first read; commit fails
//     if a read key changed or a written key was modified after that revision.
//   serializable: reads from the first read's revision; commit fails if a read key changed.
//   repeatableReads: each key read at most once (latest); commit fails if a read key changed.
//   readCommitted: reads the latest, commits without checks.

import { type Bytes, toBytes, toText } from "./bytes.ts";
import { EtcdError, GrpcCode } from "./errors.ts";
import { type Compare, type Conn, type Op, type RangeResult, type TxnResult, compare, op, range, txn } from "./kv.ts";
import type { CallOptions } from "./transport.ts";

export type Isolation = "serializableSnapshot" | "serializable" | "repeatableReads" | "readCommitted";

export interface StmOptions extends CallOptions {
  isolation?: Isolation;
  /** Keys to read in the first round trip. */
  prefetch?: Bytes[];
  /** Give up after this many conflicting attempts (default: no limit, as clientv3). */
  maxAttempts?: number;
}

/** What `apply` sees. Keys are text (UTF-8); values are returned as text, "" when absent. */
export interface Stm {
  get(...keys: string[]): Promise<string>;
  /** The key's mod revision as this transaction sees it (0 when absent). */
  rev(key: string): Promise<number>;
  put(key: string, value: Bytes): void;
  del(key: string): void;
}

type Read = { rev: number; mod: number; value: string; found: boolean };

/** Runs `apply` until its transaction commits; resolves with the committing txn's result. */
export async function stm(c: Conn, apply: (s: Stm) => Promise<void> | void, o: StmOptions = {}): Promise<TxnResult> {
  const iso = o.isolation ?? "serializableSnapshot";
  let prefetch = new Map<string, Read>();
  const call = { signal: o.signal, timeout: o.timeout };
  const fetchKeys = async (keys: string[], atRev: number): Promise<Map<string, Read>> => {
    // One txn of gets: every key at one revision.
    const t = await txn(c, { compare: [], failure: [], success: keys.map((k) => op.get(k, atRev > 0 ? { revision: atRev, serializable: true } : {})) }, call);
    const out = new Map<string, Read>();
    keys.forEach((k, i) => {
      const r = t.responses[i] as { type: "range"; range: RangeResult } | undefined;
      const kv = r?.range.kvs[0];
      out.set(k, { rev: t.header.revision, mod: kv?.modRevision ?? 0, value: kv ? toText(kv.value) : "", found: !!kv });
    });
    return out;
  };
  if (o.prefetch?.length) prefetch = await fetchKeys(o.prefetch.map((k) => (typeof k === "string" ? k : toText(k))), 0);

  for (let attempt = 1; ; attempt++) {
    if (o.signal?.aborted) throw new EtcdError("context canceled", { code: GrpcCode.Canceled });
    const rset = new Map<string, Read>();
    const wset = new Map<string, { value: Uint8Array } | null>();
    let readRev = 0;
    const snapshot = iso === "serializable" || iso === "serializableSnapshot";
    const read = async (key: string): Promise<Read> => {
      const cached = rset.get(key);
      if (cached && iso !== "readCommitted") return cached;
      let r = prefetch.get(key);
      if (r) prefetch.delete(key);
      else if (snapshot && readRev > 0) r = (await fetchKeys([key], readRev)).get(key)!;
      else {
        const g = await range(c, key, call);
        const kv = g.kvs[0];
        r = { rev: g.header.revision, mod: kv?.modRevision ?? 0, value: kv ? toText(kv.value) : "", found: !!kv };
      }
      if (snapshot && readRev === 0) readRev = r.rev;
      rset.set(key, r);
      return r;
    };
    const s: Stm = {
      async get(...keys) {
        for (const k of keys) {
          const w = wset.get(k);
          if (w !== undefined) return w ? toText(w.value) : "";
        }
        let last = "";
        for (const k of keys) {
          const r = await read(k);
          last = r.value;
          if (r.found) return r.value;
        }
        return last;
      },
      async rev(key) {
        if (wset.has(key)) return 0;
        return (await read(key)).mod;
      },
      put(key, value) {
        wset.set(key, { value: toBytes(value) });
      },
      del(key) {
        wset.set(key, null);
      },
    };
    await apply(s);

    const cmps: Compare[] = [];
    if (iso !== "readCommitted") for (const [k, r] of rset) cmps.push(compare.modRevision(k, "=", r.mod));
    if (iso === "serializableSnapshot") {
      // A written key modified after the snapshot is a conflict too.
      const first = Math.min(...[...rset.values()].map((r) => r.rev), Number.MAX_SAFE_INTEGER - 1);
      for (const k of wset.keys()) cmps.push(compare.modRevision(k, "<", first + 1));
    }
    const puts: Op[] = [...wset].map(([k, w]) => (w ? op.put(k, w.value) : op.delete(k)));
    // On a conflict, the else branch reads the keys again for the next attempt.
    const keys = [...rset.keys()];
    const res = await txn(c, { compare: cmps, success: puts, failure: keys.map((k) => op.get(k)) }, call);
    if (res.succeeded) return res;
    if (o.maxAttempts && attempt >= o.maxAttempts) throw new EtcdError(`stm: ${attempt} attempts conflicted`, { code: GrpcCode.Aborted });
    prefetch = new Map();
    keys.forEach((k, i) => {
      const r = res.responses[i] as { type: "range"; range: RangeResult } | undefined;
      const kv = r?.range.kvs[0];
      prefetch.set(k, { rev: res.header.revision, mod: kv?.modRevision ?? 0, value: kv ? toText(kv.value) : "", found: !!kv });
    });
  }
}
