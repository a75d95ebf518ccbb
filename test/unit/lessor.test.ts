import { describe, expect, it } from "vitest";
import { LeaseIdGenerator } from "../../src/lease/lease_id.ts";
import { EXPIRED_LEASE_RETRY_MS, FOREVER_TTL_SECONDS, Lessor } from "../../src/lease/lessor.ts";
import { Errors } from "../../src/server/errors.ts";
import { openMemoryDb } from "../support/node-sqlite.ts";

function lessor(minTtlSeconds = 2) {
  const attached = new Map<string, Uint8Array[]>();
  const db = openMemoryDb();
  const l = new Lessor(db, { keysWithLease: (id) => attached.get(id) ?? [] }, { minTtlSeconds });
  return { l, db, attached };
}

describe("replicated operations", () => {
  it("grant raises to the minimum TTL and rejects 0, too large, existing", () => {
    const { l } = lessor(5);
    expect(l.grant(1n, 3, 0)).toEqual({ id: 1n, ttlSeconds: 5, remainingTtlSeconds: 0 });
    expect(l.grant(2n, 60, 0).ttlSeconds).toBe(60);
    expect(() => l.grant(0n, 10, 0)).toThrow(Errors.LeaseNotFound);
    expect(() => l.grant(3n, 9_000_000_001, 0)).toThrow(Errors.LeaseTTLTooLarge);
    expect(() => l.grant(1n, 10, 0)).toThrow(Errors.LeaseExist);
    expect(l.lookup(2n)).toEqual({ id: 2n, ttlSeconds: 60, remainingTtlSeconds: 0 });
  });
  it("stores 64-bit IDs exactly", () => {
    const { l } = lessor();
    const id = (1n << 63n) - 1n;
    l.grant(id, 10, 0);
    expect(l.exists(id)).toBe(true);
    expect(l.leases(0)).toEqual([id]);
  });
  it("revoke calls the key deleter once and forgets the lease", () => {
    const { l } = lessor();
    l.grant(7n, 10, 0);
    const calls: string[] = [];
    l.revoke(7n, (t) => calls.push(t));
    expect(calls).toEqual(["7"]);
    expect(l.exists(7n)).toBe(false);
    expect(() => l.revoke(7n, () => {})).toThrow(Errors.LeaseNotFound);
  });
  it("checkpoint records the remaining TTL, which a new primary uses", () => {
    const { l } = lessor();
    l.grant(1n, 100, 0);
    l.checkpoint(1n, 30);
    l.checkpoint(99n, 30); // unknown: ignored
    l.promote(1000, 0);
    expect(l.timeToLive(1n, 1000, false)).toMatchObject({ TTL: 30, grantedTTL: 100 });
  });
});

describe("expiry (primary only)", () => {
  it("a non-primary has no expiry: TTL is Go's forever, nothing expires, renew is forwarded", () => {
    const { l } = lessor();
    l.grant(1n, 10, 0);
    expect(l.timeToLive(1n, 0, false)!.TTL).toBe(FOREVER_TTL_SECONDS);
    expect(l.expiredLeases(1e15)).toEqual([]);
    expect(l.renew(1n, 0)).toEqual({ kind: "notPrimary" });
    expect(l.timeToLive(2n, 0, false)).toBeUndefined();
  });
  it("remaining TTL is truncated to whole seconds", () => {
    const { l } = lessor();
    l.promote(0, 0);
    l.grant(1n, 10, 1000);
    expect(l.timeToLive(1n, 1000, false)!.TTL).toBe(10);
    expect(l.timeToLive(1n, 1001, false)!.TTL).toBe(9);
    expect(l.timeToLive(1n, 10_999, false)!.TTL).toBe(0);
    expect(l.timeToLive(1n, 11_000, false)!.TTL).toBe(0);
    expect(l.timeToLive(1n, 12_500, false)!.TTL).toBe(-1);
  });
  it("expired leases are offered once, then again after the retry interval", () => {
    const { l } = lessor();
    l.promote(0, 0);
    l.grant(1n, 10, 0);
    l.grant(2n, 20, 0);
    expect(l.expiredLeases(9_999)).toEqual([]);
    expect(l.expiredLeases(10_000)).toEqual([1n]);
    expect(l.expiredLeases(10_001)).toEqual([]);
    expect(l.expiredLeases(10_000 + EXPIRED_LEASE_RETRY_MS)).toEqual([1n]);
    expect(l.expiredLeases(30_000).sort()).toEqual([1n, 2n]);
    expect(l.renew(1n, 30_000)).toEqual({ kind: "expired" });
    l.revoke(1n, () => {});
    expect(l.expiredLeases(100_000)).toEqual([2n]);
    expect(l.renew(1n, 30_000)).toEqual({ kind: "notFound" });
  });
  it("tells when the next expiry check is due", () => {
    const { l } = lessor();
    l.grant(1n, 10, 0);
    expect(l.nextCheckMs()).toBeUndefined();
    l.promote(0, 0);
    l.grant(2n, 5, 0);
    expect(l.nextCheckMs()).toBe(5_000);
    l.renew(2n, 4_000);
    expect(l.nextCheckMs()).toBe(9_000);
    expect(l.expiredLeases(9_000)).toEqual([2n]);
    expect(l.nextCheckMs()).toBe(10_000);
    expect(l.count()).toBe(2);
  });
  it("renew restarts the clock and returns the granted TTL", () => {
    const { l } = lessor();
    l.promote(0, 0);
    l.grant(1n, 10, 0);
    expect(l.renew(1n, 9_000)).toEqual({ kind: "ok", ttlSeconds: 10, clearCheckpoint: false });
    expect(l.expiredLeases(18_999)).toEqual([]);
    expect(l.expiredLeases(19_000)).toEqual([1n]);
  });
  it("limits how many expired leases one call returns", () => {
    const { l } = lessor();
    l.promote(0, 0);
    for (let i = 1; i <= 10; i++) l.grant(BigInt(i), 5, 0);
    expect(l.expiredLeases(5_000, 4).length).toBe(4);
    expect(l.expiredLeases(5_000, 100).length).toBe(6);
  });
  it("promote extends every lease; demote stops all clocks", () => {
    const { l } = lessor();
    l.grant(1n, 10, 0);
    l.promote(50_000, 1_000);
    expect(l.timeToLive(1n, 50_000, false)!.TTL).toBe(11);
    expect(l.expiredLeases(60_999)).toEqual([]);
    expect(l.expiredLeases(61_000)).toEqual([1n]);
    l.demote();
    expect(l.isPrimary()).toBe(false);
    expect(l.expiredLeases(1e12)).toEqual([]);
    expect(l.timeToLive(1n, 0, false)!.TTL).toBe(FOREVER_TTL_SECONDS);
  });
  it("spreads expiries of many leases so no second exceeds 3/4 of the revoke rate", () => {
    const { l } = lessor();
    for (let i = 1; i <= 3000; i++) l.grant(BigInt(i), 10, 0);
    l.promote(0, 0);
    const perSecond = new Map<number, number>();
    const seen = new Set<bigint>();
    for (let t = 10_000; t <= 20_000; t += 1000) {
      const fresh = l.expiredLeases(t, 1e9).filter((id) => !seen.has(id));
      for (const id of fresh) seen.add(id);
      if (fresh.length) perSecond.set(t, fresh.length);
    }
    expect([...perSecond.values()].reduce((a, b) => a + b, 0)).toBe(3000);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(1000);
    expect(perSecond.get(10_000)).toBe(750);
  });
  it("lists leases soonest expiry first", () => {
    const { l } = lessor();
    l.promote(0, 0);
    l.grant(5n, 30, 0);
    l.grant(6n, 10, 0);
    l.grant(4n, 20, 0);
    expect(l.leases(0)).toEqual([6n, 4n, 5n]);
    l.demote();
    expect(l.leases(0)).toEqual([4n, 5n, 6n]);
  });
  it("rolls back clock changes of a failed transaction", () => {
    const { l } = lessor();
    l.promote(0, 0);
    l.grant(1n, 10, 0);
    l.begin();
    l.renew(1n, 5_000);
    l.revoke(1n, () => {});
    l.rollback();
    // the SQL side is rolled back by the database; the clock is back at its old expiry
    expect(l.expiredLeases(9_999)).toEqual([]);
    expect(l.expiredLeases(10_000)).toEqual([1n]);
  });
});

describe("LeaseIdGenerator", () => {
  it("prefixes the member ID's low 16 bits, counts up, stays a positive int63", () => {
    const g = new LeaseIdGenerator(0x1234_5678_9abc_def0n, 0x12_3456_789a);
    const a = g.next();
    const b = g.next();
    expect(b - a).toBe(1n);
    expect(a >> 48n).toBe(0xdef0n & 0x7fffn);
    expect((a >> 8n) & ((1n << 40n) - 1n)).toBe(0x12_3456_789an);
    expect(a & 0xffn).toBe(1n);
    const high = new LeaseIdGenerator(0xffffn, 1);
    expect(high.next()).toBeLessThan(1n << 63n);
    expect(high.next()).toBeGreaterThan(0n);
  });
  it("never returns 0", () => {
    const g = new LeaseIdGenerator(0x8000n, 0); // prefix masked away by int63
    (g as unknown as { suffix: bigint }).suffix = (1n << 48n) - 2n;
    const ids = [g.next(), g.next(), g.next()];
    expect(ids).not.toContain(0n);
  });
});
