// Lock waiters and election observers (src/server/concurrency/waits.ts) over a real Applier
// on node:sqlite: one wake-up per release in create-revision order, failure when the
// waiter's lease is revoked, observers fed from the apply path in order.
import { describe, expect, it } from "vitest";
import { Applier } from "../../src/server/applier.ts";
import { contendTxn, contenderKey, prefixOf } from "../../src/server/concurrency/recipes.ts";
import { ConcurrencyWaits } from "../../src/server/concurrency/waits.ts";
import type { InternalRequest } from "../../src/server/internal_request.ts";
import type { TxnResponse } from "../../src/server/types.ts";
import { openMemoryDb } from "../support/node-sqlite.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const NAME = enc.encode("L");

function setup() {
  const applier = new Applier(openMemoryDb(), { minLeaseTtlSeconds: 2 });
  const mvcc = applier.mvcc;
  const waits = new ConcurrencyWaits({
    rev: () => mvcc.rev(),
    compactRev: () => mvcc.compactRev(),
    eventsBetween: (a, b, n) => mvcc.eventsBetween(a, b, n),
    range: (r) => applier.range(r),
  });
  let seq = 0;
  const apply = (r: Omit<InternalRequest, "id">) => {
    const res = applier.applyRequest({ ...r, id: ++seq } as InternalRequest);
    waits.onApplied();
    if (res.error) throw res.error;
    return res.response;
  };
  const contend = (lease: bigint, value = "") => {
    apply({ op: "leaseGrant", request: { ID: lease, TTL: 30 } });
    const key = contenderKey(NAME, lease);
    const t = apply({ op: "txn", request: contendTxn(key, enc.encode(value), lease) }) as TxnResponse;
    const log: string[] = [];
    waits.addWaiter({
      prefix: prefixOf(NAME), key, createRev: t.header!.revision,
      acquired: (rev) => log.push(`acquired@${rev}`), failed: (e) => log.push(`failed:${e.message}`),
    });
    return { key, log };
  };
  return { applier, waits, apply, contend };
}

describe("lock waits", () => {
  it("hands the lock on in create-revision order, waking only the next waiter", () => {
    const { apply, contend, waits } = setup();
    const a = contend(0xan);
    const b = contend(0xbn);
    const c = contend(0xcn);
    expect(a.log).toEqual([`acquired@2`]);
    expect(b.log).toEqual([]);
    expect(waits.waiting).toBe(2);
    apply({ op: "deleteRange", request: { key: a.key, rangeEnd: new Uint8Array(0), prevKv: false } });
    expect(b.log).toEqual(["acquired@5"]);
    expect(c.log).toEqual([]);
    apply({ op: "deleteRange", request: { key: b.key, rangeEnd: new Uint8Array(0), prevKv: false } });
    expect(c.log).toEqual(["acquired@6"]);
  });

  it("a waiter whose lease is revoked fails; one behind it moves up to its predecessor", () => {
    const { apply, contend } = setup();
    const a = contend(1n);
    const b = contend(2n);
    const c = contend(3n);
    apply({ op: "leaseRevoke", request: { ID: 2n } });
    expect(b.log).toEqual(["failed:session expired"]);
    expect(c.log).toEqual([]);
    expect(a.log).toEqual(["acquired@2"]);
    apply({ op: "leaseRevoke", request: { ID: 1n } });
    expect(c.log).toEqual(["acquired@6"]);
  });

  it("observers see the first contender, its proclamations and its successor, in order", () => {
    const { apply, contend, waits } = setup();
    const seen: string[] = [];
    waits.addObserver({ prefix: prefixOf(NAME), seenRev: 0, emit: (kv, rev) => seen.push(`${dec.decode(kv.value)}@${rev}`) });
    const a = contend(1n, "a");
    contend(2n, "b");
    apply({ op: "put", request: { key: a.key, value: enc.encode("a2"), lease: 1n, prevKv: false, ignoreValue: false, ignoreLease: false } });
    apply({ op: "leaseRevoke", request: { ID: 1n } });
    expect(seen).toEqual(["a@2", "a2@4", "b@5"]);
  });
});
