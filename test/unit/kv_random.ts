// Random etcd requests from a seed, for the model test and the differential run against a
// real etcd. State needed: the current revision and the granted leases.
import type { Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, SortOrder, SortTarget, TxnRequest } from "../../src/server/types.ts";
import type { InternalRequest } from "../../src/server/internal_request.ts";
import { validateTxn } from "../../src/server/validate.ts";
import { prefixEnd } from "../../src/util/bytes.ts";
import { rangeReq } from "./kv_helpers.ts";

export interface GenState {
  rev: number;
  leases: Map<bigint, number>;
}

const EMPTY = new Uint8Array(0);


export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed;
  }
  next(): number {
    // mulberry32
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const KEYS = ["a", "ab", "abc", "b", "ba", "c", "\x00", "\xff", "a\xff", "zz"].map((s) => Buffer.from(s, "latin1"));
const VALUES = ["", "x", "y", "xy", "z"].map((s) => new Uint8Array(Buffer.from(s)));
const u8 = (b: Buffer) => new Uint8Array(b);

function randKey(g: Rng): Uint8Array {
  return u8(g.pick(KEYS));
}

function randEnd(g: Rng, key: Uint8Array): Uint8Array {
  switch (g.int(5)) {
    case 0:
      return EMPTY;
    case 1:
      return new Uint8Array([0]);
    case 2:
      return prefixEnd(key);
    default:
      return randKey(g);
  }
}

export function randRange(g: Rng, m: GenState): RangeRequest {
  const key = g.chance(0.1) ? new Uint8Array([0]) : randKey(g);
  const orders: SortOrder[] = ["NONE", "ASCEND", "DESCEND"];
  const targets: SortTarget[] = ["KEY", "VERSION", "CREATE", "MOD", "VALUE"];
  const small = () => (g.chance(0.7) ? 0 : g.int(m.rev + 2));
  return rangeReq(key, {
    rangeEnd: randEnd(g, key),
    limit: g.chance(0.5) ? 0 : g.int(4) - (g.chance(0.1) ? 2 : 0),
    revision: g.chance(0.5) ? 0 : g.int(m.rev + 3) - 1,
    sortOrder: g.chance(0.5) ? "NONE" : g.pick(orders),
    sortTarget: g.chance(0.5) ? "KEY" : g.pick(targets),
    keysOnly: g.chance(0.2),
    countOnly: g.chance(0.1),
    minModRevision: small(),
    maxModRevision: small(),
    minCreateRevision: small(),
    maxCreateRevision: small(),
  });
}

function randLease(g: Rng, m: GenState): bigint {
  if (g.chance(0.6)) return 0n;
  const ids = [...m.leases.keys()];
  if (ids.length > 0 && g.chance(0.8)) return g.pick(ids);
  return BigInt(1 + g.int(5));
}

export function randPut(g: Rng, m: GenState): PutRequest {
  const ignoreValue = g.chance(0.1);
  const ignoreLease = g.chance(0.1);
  return {
    key: randKey(g),
    value: ignoreValue ? EMPTY : g.pick(VALUES),
    lease: ignoreLease ? 0n : randLease(g, m),
    prevKv: g.chance(0.4),
    ignoreValue,
    ignoreLease,
  };
}

export function randDelete(g: Rng): DeleteRangeRequest {
  const key = randKey(g);
  return { key, rangeEnd: g.chance(0.5) ? EMPTY : randEnd(g, key), prevKv: g.chance(0.5) };
}

function randCompare(g: Rng, m: GenState): Compare {
  const key = randKey(g);
  const target = g.pick(["VERSION", "CREATE", "MOD", "VALUE", "LEASE"] as const);
  const result = g.pick(["EQUAL", "GREATER", "LESS", "NOT_EQUAL"] as const);
  const n = g.int(m.rev + 2);
  let tu: Compare["targetUnion"];
  if (g.chance(0.05)) tu = {};
  else if (target === "VALUE") tu = { value: g.pick(VALUES) };
  else if (target === "LEASE") tu = { lease: randLease(g, m) };
  else if (target === "VERSION") tu = { version: g.int(4) };
  else if (target === "CREATE") tu = { createRevision: n };
  else tu = { modRevision: n };
  return { key, rangeEnd: g.chance(0.7) ? EMPTY : randEnd(g, key), target, result, targetUnion: tu };
}

function randOps(g: Rng, m: GenState, depth: number): RequestOp[] {
  const ops: RequestOp[] = [];
  const n = g.int(4);
  for (let i = 0; i < n; i++) {
    const k = g.int(10);
    if (k < 3) ops.push({ requestRange: randRange(g, m) });
    else if (k < 6) ops.push({ requestPut: randPut(g, m) });
    else if (k < 8) ops.push({ requestDeleteRange: randDelete(g) });
    else if (depth < 2) ops.push({ requestTxn: randTxn(g, m, depth + 1) });
  }
  return ops;
}

export function randTxn(g: Rng, m: GenState, depth = 0): TxnRequest {
  const compare: Compare[] = [];
  const n = g.int(3);
  for (let i = 0; i < n; i++) compare.push(randCompare(g, m));
  return { compare, success: randOps(g, m, depth), failure: randOps(g, m, depth) };
}

export type Step = { kind: "apply"; req: InternalRequest } | { kind: "range"; req: RangeRequest } | { kind: "restart" };

export function randStep(g: Rng, m: GenState, id: number, minTtl = 0): Step {
  const k = g.int(100);
  if (k < 28) return { kind: "apply", req: { op: "put", id, request: randPut(g, m) } };
  if (k < 38) return { kind: "apply", req: { op: "deleteRange", id, request: randDelete(g) } };
  if (k < 60) return { kind: "range", req: randRange(g, m) };
  if (k < 82) {
    for (;;) {
      const t = randTxn(g, m);
      try {
        validateTxn(t);
      } catch {
        continue;
      }
      return { kind: "apply", req: { op: "txn", id, request: t } };
    }
  }
  if (k < 86) return { kind: "apply", req: { op: "compaction", id, request: { revision: g.int(m.rev + 3) - 1, physical: false } } };
  if (k < 92) return { kind: "apply", req: { op: "leaseGrant", id, request: { ID: BigInt(1 + g.int(5)), TTL: minTtl + g.int(12) - 1 } } };
  if (k < 97) return { kind: "apply", req: { op: "leaseRevoke", id, request: { ID: BigInt(1 + g.int(6)) } } };
  return { kind: "restart" };
}

