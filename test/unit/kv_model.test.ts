// Randomized differential test: a small in-memory model of etcd 3.4's KV and lease apply
// semantics (written from etcd's apply.go / kvstore_txn.go / key_index.go) against the
// Applier over node:sqlite. Same random operations, identical responses and errors.
// A failure prints the seed; rerun one with MODEL_SEED=<seed>.
import { describe, expect, it } from "vitest";
import { Applier, type ApplyResult } from "../../src/server/applier.ts";
import { Errors, type EtcdError } from "../../src/server/errors.ts";
import { goSort, goSortReverse } from "../../src/server/go_sort.ts";
import { encodeInternalRequest, type InternalRequest } from "../../src/server/internal_request.ts";
import type {
  Compare,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResponse,
} from "../../src/server/types.ts";
import { compareBytes } from "../../src/util/bytes.ts";
import { randStep, Rng } from "./kv_random.ts";
import { openMemoryDb } from "../support/node-sqlite.ts";
import { rangeReq } from "./kv_helpers.ts";

// ---------------------------------------------------------------- the model

interface Entry {
  key: Uint8Array;
  main: number;
  sub: number;
  tomb: boolean;
  create: number;
  version: number;
  value: Uint8Array;
  lease: bigint;
}

const hdr = (revision: number) => ({ clusterId: 0n, memberId: 0n, revision, raftTerm: 0 });
const EMPTY = new Uint8Array(0);

class ModelError extends Error {
  readonly err: EtcdError;
  constructor(err: EtcdError) {
    super(err.message);
    this.err = err;
  }
}
const fail = (e: EtcdError): never => {
  throw new ModelError(e);
};

class Model {
  history: Entry[] = [];
  rev = 1;
  compactRev = -1;
  leases = new Map<bigint, number>();
  minTtl = 2;

  /** Newest entry of key with main <= at (history is in revision order). */
  newest(key: Uint8Array, at: number): Entry | undefined {
    let found: Entry | undefined;
    for (const e of this.history) if (e.main <= at && compareBytes(e.key, key) === 0) found = e;
    return found;
  }

  inRange(k: Uint8Array, key: Uint8Array, end: Uint8Array | null): boolean {
    if (end === null) return compareBytes(k, key) === 0;
    if (compareBytes(k, key) < 0) return false;
    return end.length === 0 || compareBytes(k, end) < 0;
  }

  /** etcd rangeKeys at view revision cur. */
  rangeKeys(key: Uint8Array, end: Uint8Array | null, cur: number, o: { limit?: number; rev?: number; count?: boolean }) {
    let rev = o.rev ?? 0;
    if (rev > cur) fail(Errors.FutureRev);
    if (rev <= 0) rev = cur;
    if (rev < this.compactRev) fail(Errors.Compacted);
    const keys = new Map<string, Uint8Array>();
    for (const e of this.history) if (this.inRange(e.key, key, end)) keys.set(Buffer.from(e.key).toString("latin1"), e.key);
    const sorted = [...keys.values()].sort(compareBytes);
    const kvs: KeyValue[] = [];
    for (const k of sorted) {
      const e = this.newest(k, rev);
      if (e && !e.tomb) kvs.push({ key: e.key, createRevision: e.create, modRevision: e.main, version: e.version, value: e.value, lease: e.lease });
    }
    const count = kvs.length;
    if (o.count) return { kvs: [] as KeyValue[], count, rev: cur };
    const limit = o.limit ?? 0;
    return { kvs: limit > 0 ? kvs.slice(0, limit) : kvs, count, rev: cur };
  }
}

function gte(end: Uint8Array): Uint8Array | null {
  if (end.length === 0) return null;
  if (end.length === 1 && end[0] === 0) return EMPTY;
  return end;
}

/** A write (or read) txn on the model: appends to history at rev+1. */
class ModelTxn {
  changes = 0;
  readonly m: Model;
  constructor(m: Model) {
    this.m = m;
  }
  viewRev() {
    return this.changes > 0 ? this.m.rev + 1 : this.m.rev;
  }
  range(key: Uint8Array, end: Uint8Array | null, o: { limit?: number; rev?: number; count?: boolean } = {}) {
    return this.m.rangeKeys(key, end, this.viewRev(), o);
  }
  put(key: Uint8Array, value: Uint8Array, lease: bigint): number {
    const main = this.m.rev + 1;
    const prev = this.m.newest(key, main);
    const alive = prev && !prev.tomb;
    this.m.history.push({ key, main, sub: this.changes++, tomb: false, create: alive ? prev.create : main, version: alive ? prev.version + 1 : 1, value, lease });
    return main;
  }
  deleteRange(key: Uint8Array, end: Uint8Array | null): [number, number] {
    const live = this.range(key, end).kvs;
    for (const kv of live) {
      this.m.history.push({ key: kv.key, main: this.m.rev + 1, sub: this.changes++, tomb: true, create: 0, version: 0, value: EMPTY, lease: 0n });
    }
    if (live.length !== 0 || this.changes > 0) return [live.length, this.m.rev + 1];
    return [0, this.m.rev];
  }
  end() {
    if (this.changes > 0) this.m.rev++;
  }
}

function modelRange(t: ModelTxn, r: RangeRequest): RangeResponse {
  let limit = r.limit;
  if (r.sortOrder !== "NONE" || r.minModRevision || r.maxModRevision || r.minCreateRevision || r.maxCreateRevision) limit = 0;
  if (limit > 0) limit++;
  const rr = t.range(r.key, gte(r.rangeEnd), { limit, rev: r.revision, count: r.countOnly });
  let kvs = rr.kvs.filter(
    (kv) =>
      !(r.maxModRevision && kv.modRevision > r.maxModRevision) &&
      !(r.minModRevision && kv.modRevision < r.minModRevision) &&
      !(r.maxCreateRevision && kv.createRevision > r.maxCreateRevision) &&
      !(r.minCreateRevision && kv.createRevision < r.minCreateRevision),
  );
  let order = r.sortOrder;
  if (r.sortTarget !== "KEY" && order === "NONE") order = "ASCEND";
  if (order !== "NONE") {
    const field = (kv: KeyValue) =>
      r.sortTarget === "VERSION" ? kv.version : r.sortTarget === "CREATE" ? kv.createRevision : r.sortTarget === "MOD" ? kv.modRevision : 0;
    const less =
      r.sortTarget === "KEY"
        ? (a: KeyValue, b: KeyValue) => compareBytes(a.key, b.key) < 0
        : r.sortTarget === "VALUE"
          ? (a: KeyValue, b: KeyValue) => compareBytes(a.value, b.value) < 0
          : (a: KeyValue, b: KeyValue) => field(a) < field(b);
    if (order === "ASCEND") goSort(kvs, less);
    else goSortReverse(kvs, less);
  }
  let more = false;
  if (r.limit > 0 && kvs.length > r.limit) {
    kvs = kvs.slice(0, r.limit);
    more = true;
  }
  if (r.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
  return { header: hdr(rr.rev), kvs, more, count: rr.count };
}

function modelPut(t: ModelTxn, p: PutRequest): PutResponse {
  let prev: KeyValue | undefined;
  if (p.ignoreValue || p.ignoreLease || p.prevKv) prev = t.range(p.key, null).kvs[0];
  if ((p.ignoreValue || p.ignoreLease) && !prev) fail(Errors.KeyNotFound);
  const rev = t.put(p.key, p.ignoreValue ? prev!.value : p.value, p.ignoreLease ? prev!.lease : p.lease);
  const resp: PutResponse = { header: hdr(rev) };
  if (p.prevKv && prev) resp.prevKv = prev;
  return resp;
}

function modelDelete(t: ModelTxn, d: DeleteRangeRequest): DeleteRangeResponse {
  const prevKvs = d.prevKv ? t.range(d.key, gte(d.rangeEnd)).kvs : [];
  const [deleted, rev] = t.deleteRange(d.key, gte(d.rangeEnd));
  return { header: hdr(rev), deleted, prevKvs };
}

interface Path {
  ok: boolean;
  nested: Path[];
}

function modelCompare(m: Model, c: Compare): boolean {
  const kvs = m.rangeKeys(c.key, gte(c.rangeEnd), m.rev, {}).kvs;
  const test = (kv: KeyValue): boolean => {
    const tu = c.targetUnion as Record<string, unknown>;
    let r: number;
    if (c.target === "VALUE") r = compareBytes(kv.value, (tu.value as Uint8Array) ?? EMPTY);
    else if (c.target === "LEASE") r = Number(kv.lease - ((tu.lease as bigint) ?? 0n));
    else {
      const mine = c.target === "VERSION" ? kv.version : c.target === "CREATE" ? kv.createRevision : kv.modRevision;
      const theirs = ((c.target === "VERSION" ? tu.version : c.target === "CREATE" ? tu.createRevision : tu.modRevision) as number) ?? 0;
      r = mine - theirs;
    }
    return c.result === "EQUAL" ? r === 0 : c.result === "NOT_EQUAL" ? r !== 0 : c.result === "GREATER" ? r > 0 : r < 0;
  };
  if (kvs.length === 0) {
    if (c.target === "VALUE") return false;
    return test({ key: c.key, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: 0n });
  }
  return kvs.every(test);
}

function modelPath(m: Model, r: TxnRequest): Path {
  const ok = r.compare.every((c) => modelCompare(m, c));
  return { ok, nested: (ok ? r.success : r.failure).filter((o) => "requestTxn" in o).map((o) => modelPath(m, (o as { requestTxn: TxnRequest }).requestTxn)) };
}

function flatOps(r: TxnRequest, p: Path, out: RequestOp[] = []): RequestOp[] {
  let n = 0;
  for (const op of p.ok ? r.success : r.failure) {
    if ("requestTxn" in op) flatOps(op.requestTxn, p.nested[n++]!, out);
    else out.push(op);
  }
  return out;
}

function modelTxn(m: Model, r: TxnRequest): TxnResponse {
  const path = modelPath(m, r);
  const ops = flatOps(r, path);
  const isWrite = [...r.success, ...r.failure].some((o) => !("requestRange" in o));
  if (isWrite) {
    const pre = new ModelTxn(m);
    const deletes: DeleteRangeRequest[] = [];
    for (const op of ops) {
      if ("requestDeleteRange" in op) deletes.push(op.requestDeleteRange);
      if (!("requestPut" in op)) continue;
      const p = op.requestPut;
      if (p.ignoreValue || p.ignoreLease) {
        if (pre.range(p.key, null).kvs.length === 0) fail(Errors.KeyNotFound);
        if (deletes.some((d) => m.inRange(p.key, d.key, gte(d.rangeEnd)))) fail(Errors.KeyNotFound);
      }
      if (p.lease !== 0n && !m.leases.has(p.lease)) fail(Errors.LeaseNotFound);
    }
  }
  for (const op of ops) {
    if (!("requestRange" in op) || op.requestRange.revision === 0) continue;
    if (op.requestRange.revision > m.rev) fail(Errors.FutureRev);
    if (op.requestRange.revision < m.compactRev) fail(Errors.Compacted);
  }
  const t = new ModelTxn(m);
  const run = (req: TxnRequest, p: Path): ResponseOp[] => {
    const out: ResponseOp[] = [];
    let n = 0;
    for (const op of p.ok ? req.success : req.failure) {
      if ("requestRange" in op) out.push({ responseRange: modelRange(t, op.requestRange) });
      else if ("requestPut" in op) out.push({ responsePut: modelPut(t, op.requestPut) });
      else if ("requestDeleteRange" in op) out.push({ responseDeleteRange: modelDelete(t, op.requestDeleteRange) });
      else if ("requestTxn" in op) {
        const np = p.nested[n++]!;
        out.push({ responseTxn: { header: hdr(0), succeeded: np.ok, responses: run(op.requestTxn, np) } });
      }
    }
    return out;
  };
  const responses = run(r, path);
  const rev = t.viewRev();
  t.end();
  return { header: hdr(rev), succeeded: path.ok, responses };
}

function modelCompact(m: Model, rev: number) {
  if (rev <= m.compactRev) fail(Errors.Compacted);
  if (rev > m.rev) fail(Errors.FutureRev);
  m.compactRev = rev;
  // keep rows > rev, and per key the newest <= rev unless it is a tombstone
  m.history = m.history.filter((e) => {
    if (e.main > rev) return true;
    const newest = m.newest(e.key, rev)!;
    return newest === e && !e.tomb;
  });
  return { header: hdr(m.rev) };
}

function modelApply(m: Model, r: InternalRequest): { response?: unknown; error?: string } {
  const snapshot = { history: m.history.slice(), rev: m.rev };
  try {
    switch (r.op) {
      case "put": {
        if (r.request.lease !== 0n && !m.leases.has(r.request.lease)) fail(Errors.LeaseNotFound);
        const t = new ModelTxn(m);
        const resp = modelPut(t, r.request);
        t.end();
        return { response: resp };
      }
      case "deleteRange": {
        const t = new ModelTxn(m);
        const resp = modelDelete(t, r.request);
        t.end();
        return { response: resp };
      }
      case "txn":
        return { response: modelTxn(m, r.request) };
      case "compaction":
        return { response: modelCompact(m, r.request.revision) };
      case "leaseGrant": {
        const { ID, TTL } = r.request;
        if (ID === 0n) fail(Errors.LeaseNotFound);
        if (TTL > 9_000_000_000) fail(Errors.LeaseTTLTooLarge);
        if (m.leases.has(ID)) fail(Errors.LeaseExist);
        const ttl = Math.max(TTL, m.minTtl);
        m.leases.set(ID, ttl);
        return { response: { header: hdr(m.rev), ID, TTL: ttl, error: "" } };
      }
      case "leaseRevoke": {
        const { ID } = r.request;
        if (!m.leases.has(ID)) fail(Errors.LeaseNotFound);
        const t = new ModelTxn(m);
        for (const kv of t.range(new Uint8Array([0]), EMPTY).kvs) if (kv.lease === ID) t.deleteRange(kv.key, null);
        t.end();
        m.leases.delete(ID);
        return { response: { header: hdr(m.rev) } };
      }
      default:
        throw new Error("unsupported");
    }
  } catch (e) {
    if (e instanceof ModelError) {
      m.history = snapshot.history;
      m.rev = snapshot.rev;
      return { error: e.message };
    }
    throw e;
  }
}

// ---------------------------------------------------------------- the test

interface Tally {
  [what: string]: number;
}

function runSeed(seed: number, steps: number, batchRows: number, defer: boolean, tally: Tally): void {
  const count = (what: string) => (tally[what] = (tally[what] ?? 0) + 1);
  const g = new Rng(seed);
  const m = new Model();
  const db = openMemoryDb();
  const open = () => new Applier(db, { minLeaseTtlSeconds: 2, compactionBatchRows: batchRows, deferPhysicalCompaction: defer });
  let applier = open();
  let index = 0;
  for (let i = 0; i < steps; i++) {
    const step = randStep(g, m, i + 1);
    const where = `seed ${seed} step ${i} ${JSON.stringify(step, (_k, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString("latin1") : v))}`;
    if (step.kind === "restart") {
      applier = open();
      continue;
    }
    if (step.kind === "range") {
      let want: { response?: unknown; error?: string };
      try {
        want = { response: modelRange(new ModelTxn(m), step.req) };
      } catch (e) {
        if (!(e instanceof ModelError)) throw e;
        want = { error: e.message };
      }
      let got: { response?: unknown; error?: string };
      try {
        got = { response: applier.range(step.req) };
      } catch (e) {
        got = { error: (e as Error).message };
      }
      expect(got, where).toEqual(want);
      count(got.error ? `range error ${got.error}` : (got.response as RangeResponse).kvs.length > 0 ? "range with kvs" : "range empty");
      continue;
    }
    const want = modelApply(m, step.req);
    const res = applier.apply({ index: ++index, term: 1, data: encodeInternalRequest(step.req) }) as ApplyResult;
    const got: { response?: unknown; error?: string } = res.error ? { error: res.error.message } : { response: res.response };
    expect(got, where).toEqual(want);
    expect(applier.revision(), where).toBe(m.rev);
    count(got.error ? `${step.req.op} error ${got.error}` : `${step.req.op} ok`);
    if (step.req.op === "txn" && !got.error) {
      const t = got.response as TxnResponse;
      count(t.succeeded ? "txn succeeded" : "txn failed");
      if (t.responses.some((r) => "responseTxn" in r)) count("txn nested");
    }
    if (defer && g.chance(0.5)) applier.compactionStep();
  }
  // Final state: every key at every retained revision agrees.
  for (let rev = Math.max(1, m.compactRev); rev <= m.rev; rev++) {
    const req = rangeReq(new Uint8Array([0]), { rangeEnd: new Uint8Array([0]), revision: rev });
    expect(applier.range(req), `seed ${seed} final rev ${rev}`).toEqual(modelRange(new ModelTxn(m), req));
  }
}

describe("Applier vs an in-memory model of etcd's KV", () => {
  const fixed = process.env.MODEL_SEED;
  const seeds = fixed ? [Number(fixed)] : Array.from({ length: 40 }, (_, i) => 1000 + i);
  const tally: Tally = {};
  it.each(seeds)("seed %i", (seed) => {
    runSeed(seed, 400, 1 + (seed % 4), seed % 2 === 0, tally);
  });
  it.skipIf(fixed !== undefined)("exercised every kind of outcome (not vacuous)", () => {
    const must = [
      "range with kvs",
      "range empty",
      "range error etcdserver: mvcc: required revision has been compacted",
      "range error etcdserver: mvcc: required revision is a future revision",
      "put ok",
      "put error etcdserver: key not found",
      "put error etcdserver: requested lease not found",
      "deleteRange ok",
      "txn ok",
      "txn succeeded",
      "txn failed",
      "txn nested",
      "txn error etcdserver: key not found",
      "txn error etcdserver: requested lease not found",
      "txn error etcdserver: mvcc: required revision is a future revision",
      "txn error etcdserver: mvcc: required revision has been compacted",
      "compaction ok",
      "compaction error etcdserver: mvcc: required revision has been compacted",
      "compaction error etcdserver: mvcc: required revision is a future revision",
      "leaseGrant ok",
      "leaseGrant error etcdserver: lease already exists",
      "leaseRevoke ok",
      "leaseRevoke error etcdserver: requested lease not found",
    ];
    for (const what of must) expect(tally[what] ?? 0, what).toBeGreaterThan(3);
  });
});
