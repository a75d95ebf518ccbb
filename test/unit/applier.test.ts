import { describe, expect, it } from "vitest";
import { Errors } from "../../src/server/errors.ts";
import { STATE_TABLES } from "../../src/server/applier.ts";
import { encodeInternalRequest } from "../../src/server/internal_request.ts";
import type { RangeResponse, TxnResponse } from "../../src/server/types.ts";
import { prefixEnd } from "../../src/util/bytes.ts";
import { TestMember, ZERO, b, cmp, opDel, opGet, opPut, opTxn, putReq, str, txnReq } from "./kv_helpers.ts";

const keys = (r: RangeResponse) => r.kvs.map((kv) => str(kv.key));

describe("revisions and versions", () => {
  it("starts at revision 1; each write bumps once; versions and create revisions follow etcd", () => {
    const m = new TestMember();
    expect(m.get("foo").header!.revision).toBe(1);
    expect(m.put("foo", "bar").header!.revision).toBe(2);
    expect(m.put("foo", "bar").header!.revision).toBe(3);
    expect(m.get("foo").kvs[0]).toMatchObject({ createRevision: 2, modRevision: 3, version: 2 });
    m.put("hello", "world");
    expect(m.get("foo").header!.revision).toBe(4);
    expect(m.del("foo")).toMatchObject({ deleted: 1, header: { revision: 5 } });
    expect(m.put("foo", "again").header!.revision).toBe(6);
    expect(m.get("foo").kvs[0]).toMatchObject({ createRevision: 6, modRevision: 6, version: 1 });
  });
  it("reads history: before a delete, at it, between, after a re-create", () => {
    const m = new TestMember();
    m.put("k", "v1"); // 2
    m.put("k", "v2"); // 3
    m.del("k"); // 4
    m.put("other", "x"); // 5
    m.put("k", "v3"); // 6
    expect(m.get("k", { revision: 1 }).kvs).toEqual([]);
    expect(str(m.get("k", { revision: 2 }).kvs[0]!.value)).toBe("v1");
    expect(m.get("k", { revision: 3 }).kvs[0]).toMatchObject({ version: 2, createRevision: 2, modRevision: 3 });
    expect(m.get("k", { revision: 4 }).kvs).toEqual([]);
    expect(m.get("k", { revision: 5 }).kvs).toEqual([]);
    expect(m.get("k", { revision: 6 }).kvs[0]).toMatchObject({ version: 1, createRevision: 6 });
    // the header is always the current revision
    expect(m.get("k", { revision: 2 }).header!.revision).toBe(6);
    expect(() => m.get("k", { revision: 7 })).toThrow(Errors.FutureRev);
    expect(m.get("k", { revision: -3 }).kvs[0]!.modRevision).toBe(6);
  });
  it("a delete of nothing does not bump the revision", () => {
    const m = new TestMember();
    m.put("a", "1");
    expect(m.del("zzz")).toEqual({ header: { clusterId: 0n, memberId: 0n, revision: 2, raftTerm: 0 }, deleted: 0, prevKvs: [] });
    expect(m.rev()).toBe(2);
  });
});

describe("range", () => {
  const seeded = () => {
    const m = new TestMember();
    for (const k of ["a", "ab", "abc", "b", "c", "\xff"]) m.put(k, `v-${k}`);
    return m;
  };
  it("key conventions: single key, [key, end), \\0 end, \\0 key and end, prefix", () => {
    const m = seeded();
    expect(keys(m.get("a"))).toEqual(["a"]);
    expect(keys(m.get("a", { rangeEnd: b("b") }))).toEqual(["a", "ab", "abc"]);
    expect(keys(m.get("ab", { rangeEnd: ZERO }))).toEqual(["ab", "abc", "b", "c", "\xff"]);
    expect(keys(m.get(ZERO, { rangeEnd: ZERO })).length).toBe(6);
    expect(keys(m.get("a", { rangeEnd: prefixEnd(b("a")) }))).toEqual(["a", "ab", "abc"]);
    expect(keys(m.get("c", { rangeEnd: b("a") }))).toEqual([]);
  });
  it("limit fetches one extra for more; count ignores limit", () => {
    const m = seeded();
    const r = m.get("a", { rangeEnd: ZERO, limit: 2 });
    expect(keys(r)).toEqual(["a", "ab"]);
    expect(r.more).toBe(true);
    expect(r.count).toBe(6);
    const exact = m.get("a", { rangeEnd: b("b"), limit: 3 });
    expect(exact.more).toBe(false);
    expect(exact.count).toBe(3);
    expect(m.get("a", { rangeEnd: ZERO, limit: -1 }).kvs.length).toBe(6);
  });
  it("count_only and keys_only", () => {
    const m = seeded();
    expect(m.get("a", { rangeEnd: ZERO, countOnly: true, limit: 1 })).toEqual({ header: expect.anything(), kvs: [], more: false, count: 6 });
    const r = m.get("a", { rangeEnd: b("b"), keysOnly: true });
    expect(r.kvs.map((kv) => kv.value.length)).toEqual([0, 0, 0]);
    expect(r.kvs[0]).toMatchObject({ version: 1, createRevision: 2 });
    // keys_only still sorts by value
    const byValue = m.get("a", { rangeEnd: b("b"), keysOnly: true, sortTarget: "VALUE", sortOrder: "DESCEND" });
    expect(keys(byValue)).toEqual(["abc", "ab", "a"]);
  });
  it("mod/create revision filters prune after counting", () => {
    const m = seeded(); // a=2 ab=3 abc=4 b=5 c=6 ff=7
    m.put("a", "again"); // a mod 8
    const r = m.get(ZERO, { rangeEnd: ZERO, minModRevision: 4, maxModRevision: 7 });
    expect(keys(r)).toEqual(["abc", "b", "c", "\xff"]);
    expect(r.count).toBe(6);
    expect(keys(m.get(ZERO, { rangeEnd: ZERO, minCreateRevision: 3, maxCreateRevision: 5 }))).toEqual(["ab", "abc", "b"]);
    // with a limit: fetched in full, filtered, then truncated
    const lim = m.get(ZERO, { rangeEnd: ZERO, minModRevision: 4, limit: 2 });
    expect(keys(lim)).toEqual(["a", "abc"]);
    expect(lim.more).toBe(true);
    expect(lim.count).toBe(6);
  });
  it("sorting: target without order means ascending; descend; ties keep etcd's order", () => {
    const m = seeded();
    m.put("c", "v-c"); // c version 2
    expect(keys(m.get(ZERO, { rangeEnd: ZERO, sortTarget: "MOD" }))).toEqual(["a", "ab", "abc", "b", "\xff", "c"]);
    expect(keys(m.get(ZERO, { rangeEnd: ZERO, sortTarget: "KEY", sortOrder: "DESCEND" }))).toEqual(["\xff", "c", "b", "abc", "ab", "a"]);
    expect(keys(m.get(ZERO, { rangeEnd: ZERO, sortTarget: "VERSION", sortOrder: "DESCEND", limit: 1 }))).toEqual(["c"]);
    expect(keys(m.get(ZERO, { rangeEnd: ZERO, sortTarget: "CREATE", sortOrder: "DESCEND" }))).toEqual(["\xff", "c", "b", "abc", "ab", "a"]);
    // small inputs are insertion-sorted: ties keep key order, also descending
    expect(keys(m.get(ZERO, { rangeEnd: ZERO, sortTarget: "VERSION", sortOrder: "DESCEND" }))).toEqual(["c", "a", "ab", "abc", "b", "\xff"]);
  });
  it("reads at the compaction revision work, below fail", () => {
    const m = seeded();
    m.compact(4);
    expect(keys(m.get(ZERO, { rangeEnd: ZERO, revision: 4 }))).toEqual(["a", "ab", "abc"]);
    expect(() => m.get("a", { revision: 3 })).toThrow(Errors.Compacted);
  });
});

describe("put", () => {
  it("prev_kv only when the key existed", () => {
    const m = new TestMember();
    expect(m.put("k", "v1", { prevKv: true })).toEqual({ header: expect.anything() });
    expect(m.put("k", "v2", { prevKv: true }).prevKv).toMatchObject({ value: b("v1"), version: 1, modRevision: 2 });
  });
  it("ignore_value keeps the value, ignore_lease keeps the lease; both need the key", () => {
    const m = new TestMember();
    m.grant(100n, 60);
    m.put("k", "v1", { lease: 100n });
    m.put("k", "", { ignoreValue: true });
    expect(m.get("k").kvs[0]).toMatchObject({ value: b("v1"), lease: 0n, version: 2 });
    m.put("k", "v2", { lease: 100n });
    m.put("k", "v3", { ignoreLease: true });
    expect(m.get("k").kvs[0]).toMatchObject({ value: b("v3"), lease: 100n });
    const res = m.propose({ op: "put", id: 9, request: putReq("missing", "", { ignoreValue: true }) });
    expect(res.error).toBe(Errors.KeyNotFound);
    expect(m.propose({ op: "put", id: 9, request: putReq("missing", "x", { ignoreLease: true }) }).error).toBe(Errors.KeyNotFound);
    // lease is checked before the key (standalone put)
    expect(m.propose({ op: "put", id: 9, request: putReq("missing", "", { ignoreValue: true, lease: 5n }) }).error).toBe(Errors.LeaseNotFound);
  });
  it("attaches, moves and detaches leases", () => {
    const m = new TestMember();
    m.grant(1n, 60);
    m.grant(2n, 60);
    m.put("a", "x", { lease: 1n });
    m.put("b", "x", { lease: 1n });
    expect(m.applier.lessor.keys(1n).map(str)).toEqual(["a", "b"]);
    m.put("a", "y", { lease: 2n });
    m.put("b", "y");
    expect(m.applier.lessor.keys(1n)).toEqual([]);
    expect(m.applier.lessor.keys(2n).map(str)).toEqual(["a"]);
    m.del("a");
    expect(m.applier.lessor.keys(2n)).toEqual([]);
    expect(m.propose({ op: "put", id: 1, request: putReq("c", "x", { lease: 3n }) }).error).toBe(Errors.LeaseNotFound);
  });
});

describe("delete range", () => {
  it("counts, returns prev_kvs, deletes in one revision", () => {
    const m = new TestMember();
    for (const k of ["a", "b", "c"]) m.put(k, k);
    const r = m.del("a", { rangeEnd: b("c"), prevKv: true });
    expect(r.deleted).toBe(2);
    expect(r.prevKvs.map((kv) => str(kv.key))).toEqual(["a", "b"]);
    expect(r.header!.revision).toBe(5);
    expect(keys(m.get(ZERO, { rangeEnd: ZERO }))).toEqual(["c"]);
    expect(m.del("\0", { rangeEnd: ZERO }).deleted).toBe(1);
  });
});

describe("txn", () => {
  it("compares on every target and operator; missing keys compare as zero, VALUE is false", () => {
    const m = new TestMember();
    m.grant(7n, 60);
    m.put("k", "m", { lease: 7n }); // create 2, mod 2, version 1
    const t = (c: ReturnType<typeof cmp>) => m.txn(txnReq([c], [])).succeeded;
    expect(t(cmp("k", "VERSION", "EQUAL", { version: 1 }))).toBe(true);
    expect(t(cmp("k", "VERSION", "GREATER", { version: 0 }))).toBe(true);
    expect(t(cmp("k", "CREATE", "LESS", { createRevision: 3 }))).toBe(true);
    expect(t(cmp("k", "MOD", "NOT_EQUAL", { modRevision: 2 }))).toBe(false);
    expect(t(cmp("k", "VALUE", "GREATER", { value: b("a") }))).toBe(true);
    expect(t(cmp("k", "VALUE", "LESS", { value: b("m") }))).toBe(false);
    expect(t(cmp("k", "LEASE", "EQUAL", { lease: 7n }))).toBe(true);
    expect(t(cmp("k", "VALUE", "EQUAL", {}))).toBe(false); // no value set compares with ""
    expect(t(cmp("nope", "VERSION", "EQUAL", { version: 0 }))).toBe(true);
    expect(t(cmp("nope", "CREATE", "LESS", { createRevision: 1 }))).toBe(true);
    expect(t(cmp("nope", "MOD", "GREATER", { modRevision: 0 }))).toBe(false);
    expect(t(cmp("nope", "LEASE", "EQUAL", { lease: 0n }))).toBe(true);
    for (const r of ["EQUAL", "NOT_EQUAL", "GREATER", "LESS"] as const) expect(t(cmp("nope", "VALUE", r, { value: b("") }))).toBe(false);
    // a compare on the wrong union member uses zero
    expect(t(cmp("k", "VERSION", "EQUAL", { modRevision: 1 }))).toBe(false);
    expect(t(cmp("k", "VERSION", "GREATER", { modRevision: 1 }))).toBe(true);
  });
  it("range compares need every key; an empty range compares as one missing key", () => {
    const m = new TestMember();
    m.put("a1", "x");
    m.put("a2", "x");
    expect(m.txn(txnReq([cmp("a", "VALUE", "EQUAL", { value: b("x") }, "b")], [])).succeeded).toBe(true);
    m.put("a3", "y");
    expect(m.txn(txnReq([cmp("a", "VALUE", "EQUAL", { value: b("x") }, "b")], [])).succeeded).toBe(false);
    expect(m.txn(txnReq([cmp("q", "VERSION", "EQUAL", { version: 0 }, "r")], [])).succeeded).toBe(true);
    expect(m.txn(txnReq([cmp("a", "CREATE", "GREATER", { createRevision: 0 }, "\0")], [])).succeeded).toBe(true);
  });
  it("one revision for all writes, sub-ordered; reads see earlier writes; responses carry etcd's headers", () => {
    const m = new TestMember();
    m.put("x", "0"); // 2
    const r = m.txn(
      txnReq(
        [],
        [opGet("x"), opPut("x", "1", { prevKv: true }), opGet("x"), opDel("nothing"), opPut("y", "2"), opTxn(txnReq([], [opGet("y")])), opDel("x", { prevKv: true })],
      ),
    );
    expect(r.header!.revision).toBe(3);
    const [g1, p1, g2, d0, p2, nested, d1] = r.responses as any[];
    expect(g1.responseRange.header.revision).toBe(2);
    expect(str(g1.responseRange.kvs[0].value)).toBe("0");
    expect(p1.responsePut.header.revision).toBe(3);
    expect(str(p1.responsePut.prevKv.value)).toBe("0");
    expect(g2.responseRange.header.revision).toBe(3);
    expect(g2.responseRange.kvs[0]).toMatchObject({ value: b("1"), version: 2, modRevision: 3 });
    expect(d0.responseDeleteRange).toMatchObject({ deleted: 0, header: { revision: 3 } });
    expect(p2.responsePut.header.revision).toBe(3);
    expect(nested.responseTxn.header).toEqual({ clusterId: 0n, memberId: 0n, revision: 0, raftTerm: 0 });
    expect(nested.responseTxn.responses[0].responseRange.kvs[0].value).toEqual(b("2"));
    expect(d1.responseDeleteRange.prevKvs[0].value).toEqual(b("1"));
    expect(m.rev()).toBe(3);
    expect(m.get("y").kvs[0]!.modRevision).toBe(3);
  });
  it("a delete before anything changed answers the old revision", () => {
    const m = new TestMember();
    m.put("a", "1");
    const r = m.txn(txnReq([], [opDel("none"), opPut("b", "2")]));
    expect((r.responses[0] as any).responseDeleteRange.header.revision).toBe(2);
    expect((r.responses[1] as any).responsePut.header.revision).toBe(3);
  });
  it("a txn without writes, or whose branch only reads, keeps the revision", () => {
    const m = new TestMember();
    m.put("a", "1");
    expect(m.txn(txnReq([cmp("a", "VERSION", "EQUAL", { version: 9 })], [opPut("a", "2")], [opGet("a")])).header!.revision).toBe(2);
    expect(m.txn(txnReq([], [opDel("zz")])).header!.revision).toBe(2);
    expect(m.rev()).toBe(2);
  });
  it("nested compares see the store before the txn", () => {
    const m = new TestMember();
    const r = m.txn(txnReq([], [opPut("a", "1"), opTxn(txnReq([cmp("a", "VERSION", "EQUAL", { version: 0 })], [opPut("b", "yes")], [opPut("b", "no")]))]));
    expect((r.responses[1] as any).responseTxn.succeeded).toBe(true);
    expect(str(m.get("b").kvs[0]!.value)).toBe("yes");
  });
  it("fails as a whole before writing: unknown lease, missing key for ignore_value, bad range revision", () => {
    const m = new TestMember();
    m.put("a", "1");
    const tries = [
      [txnReq([], [opPut("b", "1"), opPut("c", "1", { lease: 5n })]), Errors.LeaseNotFound],
      [txnReq([], [opPut("b", "1"), opPut("c", "", { ignoreValue: true })]), Errors.KeyNotFound],
      [txnReq([], [opPut("b", "1"), opGet("a", { revision: 3 })]), Errors.FutureRev],
      [txnReq([], [opTxn(txnReq([], [opPut("b", "1"), opPut("c", "", { ignoreLease: true })]))]), Errors.KeyNotFound],
      // the key exists before the txn but a "\0"-ended delete removes it first
      [txnReq([], [opDel("a", { rangeEnd: ZERO }), opPut("a", "", { ignoreValue: true })]), Errors.KeyNotFound],
    ] as const;
    for (const [t, e] of tries) {
      expect(m.propose({ op: "txn", id: 1, request: t }).error).toBe(e);
      expect(m.rev()).toBe(2);
      expect(m.get("b").kvs).toEqual([]);
    }
    // failure branch ops are checked only when that branch runs
    expect(m.txn(txnReq([], [opPut("b", "1")], [opPut("c", "1", { lease: 5n })])).succeeded).toBe(true);
  });
  it("range revisions in a txn: negative ones fail once compacted (etcd's check), plain ranges treat them as current", () => {
    const m = new TestMember();
    m.put("a", "1");
    expect(m.txn(txnReq([], [opGet("a", { revision: -1 })])).succeeded).toBe(true);
    expect(m.propose({ op: "txn", id: 1, request: txnReq([], [opGet("a", { revision: -2 })]) }).error).toBe(Errors.Compacted);
    m.compact(1);
    expect(m.propose({ op: "txn", id: 1, request: txnReq([], [opGet("a", { revision: -1 })]) }).error).toBe(Errors.Compacted);
    expect(m.get("a", { revision: -1 }).kvs.length).toBe(1);
  });
  it("delete from key then put of the same key in one txn (etcd allows it)", () => {
    const m = new TestMember();
    m.put("a", "1");
    m.put("b", "1");
    const r = m.txn(txnReq([], [opDel("a", { rangeEnd: ZERO }), opPut("b", "2")]));
    expect(r.header!.revision).toBe(4);
    expect(m.get("b").kvs[0]).toMatchObject({ version: 1, createRevision: 4, value: b("2") });
    expect(m.get("a").kvs).toEqual([]);
    expect(m.get("b", { revision: 3 }).kvs[0]!.version).toBe(1);
  });
  it("read-only txns are served locally too", () => {
    const m = new TestMember();
    m.put("a", "1");
    const r: TxnResponse = m.applier.readOnlyTxn(txnReq([cmp("a", "VERSION", "EQUAL", { version: 1 })], [opGet("a")]));
    expect(r.succeeded).toBe(true);
    expect(r.header!.revision).toBe(2);
    expect(() => m.applier.readOnlyTxn(txnReq([], [opGet("a", { revision: 5 })]))).toThrow(Errors.FutureRev);
    expect(() => m.applier.readOnlyTxn(txnReq([], [opPut("a", "1")]))).toThrow();
  });
});

describe("compaction requests", () => {
  it("errors as etcd: at or below the compacted revision, above current", () => {
    const m = new TestMember();
    m.put("a", "1");
    expect(m.compact(0)).toEqual({ header: { clusterId: 0n, memberId: 0n, revision: 2, raftTerm: 0 } });
    expect(m.propose({ op: "compaction", id: 1, request: { revision: 0, physical: false } }).error).toBe(Errors.Compacted);
    expect(m.propose({ op: "compaction", id: 1, request: { revision: 3, physical: false } }).error).toBe(Errors.FutureRev);
    m.compact(2);
    expect(m.propose({ op: "compaction", id: 1, request: { revision: 2, physical: false } }).error).toBe(Errors.Compacted);
    const res = m.propose({ op: "compaction", id: 1, request: { revision: 1, physical: true } });
    expect(res.error).toBe(Errors.Compacted);
  });
  it("keeps keys alive at the compaction point; a key deleted at or before it disappears", () => {
    const m = new TestMember();
    m.put("live", "1"); // 2
    m.put("gone", "1"); // 3
    m.del("gone"); // 4
    m.put("later", "1"); // 5
    m.compact(4);
    expect(keys(m.get(ZERO, { rangeEnd: ZERO, revision: 4 }))).toEqual(["live"]);
    expect(keys(m.get(ZERO, { rangeEnd: ZERO }))).toEqual(["later", "live"]);
    expect(m.applier.mvcc.stats()).toEqual({ keys: 2, revisions: 2 });
  });
});

describe("leases through apply", () => {
  it("grant: min TTL, too large, exists, header revision", () => {
    const m = new TestMember();
    expect(m.grant(1n, 1)).toEqual({ header: { clusterId: 0n, memberId: 0n, revision: 1, raftTerm: 0 }, ID: 1n, TTL: 2, error: "" });
    expect(m.grant(2n, -5).TTL).toBe(2);
    expect(m.grant(3n, 9_000_000_000).TTL).toBe(9_000_000_000);
    expect(m.propose({ op: "leaseGrant", id: 1, request: { ID: 4n, TTL: 9_000_000_001 } }).error).toBe(Errors.LeaseTTLTooLarge);
    expect(m.propose({ op: "leaseGrant", id: 1, request: { ID: 1n, TTL: 10 } }).error).toBe(Errors.LeaseExist);
    // too large is checked before exists
    expect(m.propose({ op: "leaseGrant", id: 1, request: { ID: 1n, TTL: 9_000_000_001 } }).error).toBe(Errors.LeaseTTLTooLarge);
  });
  it("revoke deletes every attached key in one revision, in key order", () => {
    const m = new TestMember();
    m.grant(5n, 10);
    m.put("z", "1", { lease: 5n });
    m.put("a", "1", { lease: 5n });
    m.put("m", "1");
    const r = m.revoke(5n);
    expect(r.header!.revision).toBe(5);
    expect(keys(m.get(ZERO, { rangeEnd: ZERO }))).toEqual(["m"]);
    const events = m.applier.mvcc.eventsBetween(5, 5, 100).events;
    expect(events.map((e) => [e.type, str(e.kv.key)])).toEqual([
      ["DELETE", "a"],
      ["DELETE", "z"],
    ]);
    expect(m.propose({ op: "leaseRevoke", id: 1, request: { ID: 5n } }).error).toBe(Errors.LeaseNotFound);
    // a lease without keys: no revision bump
    m.grant(6n, 10);
    expect(m.revoke(6n).header!.revision).toBe(5);
  });
  it("accepts negative lease IDs as etcd does", () => {
    const m = new TestMember();
    expect(m.grant(-5n, 100).ID).toBe(-5n);
    m.put("neg", "v", { lease: -5n });
    expect(m.get("neg").kvs[0]!.lease).toBe(-5n);
    expect(m.txn(txnReq([cmp("neg", "LEASE", "LESS", { lease: 0n })], [])).succeeded).toBe(true);
    expect(m.applier.leaseTimeToLive({ ID: -5n, keys: true }, m.nowMs).keys.map(str)).toEqual(["neg"]);
    m.revoke(-5n);
    expect(m.get("neg").kvs).toEqual([]);
  });
  it("time to live as etcd answers it", () => {
    const m = new TestMember();
    m.applier.promote(m.nowMs, 0);
    m.grant(9n, 10);
    m.put("k2", "v", { lease: 9n });
    m.put("k1", "v", { lease: 9n });
    const ttl = m.applier.leaseTimeToLive({ ID: 9n, keys: true }, m.nowMs + 1);
    expect(ttl).toMatchObject({ ID: 9n, TTL: 9, grantedTTL: 10 });
    expect(ttl.keys.map(str)).toEqual(["k1", "k2"]);
    expect(m.applier.leaseTimeToLive({ ID: 9n, keys: false }, m.nowMs).keys).toEqual([]);
    expect(m.applier.leaseTimeToLive({ ID: 404n, keys: true }, m.nowMs)).toEqual({ header: expect.anything(), ID: 404n, TTL: -1, grantedTTL: 0, keys: [] });
    expect(m.applier.leaseLeases(m.nowMs).leases).toEqual([{ ID: 9n }]);
  });
});

describe("exactly-once apply", () => {
  it("skips applied indexes, advances on no-ops and on errors", () => {
    const m = new TestMember();
    const put = encodeInternalRequest({ op: "put", id: 1, request: putReq("a", "1") });
    expect(m.applier.apply({ index: 1, term: 1, data: put })).toMatchObject({ op: "put", id: 1 });
    expect(m.applier.apply({ index: 1, term: 1, data: put })).toBeUndefined();
    expect(m.applier.apply({ index: 2, term: 2, data: new Uint8Array(0) })).toBeUndefined();
    expect(m.applier.consistentIndex()).toBe(2);
    expect(m.applier.appliedTerm()).toBe(2);
    const bad = encodeInternalRequest({ op: "put", id: 3, request: putReq("a", "1", { lease: 77n }) });
    expect(m.applier.apply({ index: 3, term: 2, data: bad })!.error).toBe(Errors.LeaseNotFound);
    expect(m.applier.consistentIndex()).toBe(3);
    expect(m.rev()).toBe(2);
  });
  it("applies a batch in one transaction and survives a restart", () => {
    const m = new TestMember();
    const entries = [1, 2, 3, 4].map((i) => ({ index: i, term: 1, data: encodeInternalRequest({ op: "put", id: i, request: putReq(`k${i}`, "v") }) }));
    const results = m.applier.applyBatch([entries[0]!, entries[1]!, { index: 3, term: 1, data: new Uint8Array(0) }, entries[3]!]);
    expect(results.map((r) => r?.op)).toEqual(["put", "put", undefined, "put"]);
    const reopened = new (m.applier.constructor as any)(m.db, { minLeaseTtlSeconds: 2 });
    expect(reopened.consistentIndex()).toBe(4);
    expect(reopened.revision()).toBe(4);
    expect(reopened.applyBatch(entries)).toEqual([undefined, undefined, undefined, undefined]);
  });
  it("reloads after its tables were replaced by another member's (snapshot install)", () => {
    const leader = new TestMember();
    leader.grant(1n, 10);
    leader.put("a", "1", { lease: 1n });
    leader.compact(2);
    const follower = new TestMember();
    follower.applier.promote(0, 0);
    for (const t of STATE_TABLES) {
      follower.db.run(`DELETE FROM ${t}`);
      for (const row of leader.db.all(`SELECT * FROM ${t}`)) {
        const cols = Object.keys(row);
        follower.db.run(`INSERT INTO ${t} (${cols.join(",")}) VALUES (${cols.map(() => "?").join(",")})`, ...cols.map((c) => row[c]!));
      }
    }
    follower.applier.reload();
    expect(follower.applier.consistentIndex()).toBe(3);
    expect(follower.rev()).toBe(2);
    expect(follower.applier.mvcc.compactRev()).toBe(2);
    expect(follower.applier.lessor.isPrimary()).toBe(false);
    expect(follower.get("a").kvs[0]!.lease).toBe(1n);
    expect(follower.applier.leaseTimeToLive({ ID: 1n, keys: true }, 0).keys.map(str)).toEqual(["a"]);
  });
  it("rolls back everything when an entry cannot be decoded", () => {
    const m = new TestMember();
    m.applier.promote(0, 0);
    const good = { index: 1, term: 1, data: encodeInternalRequest({ op: "leaseGrant", id: 1, request: { ID: 3n, TTL: 10 } }) };
    const junk = { index: 2, term: 1, data: new Uint8Array([0, 0, 0, 9, 1]) };
    expect(() => m.applier.applyBatch([good, junk], 0)).toThrow();
    expect(m.applier.consistentIndex()).toBe(0);
    expect(m.applier.lessor.exists(3n)).toBe(false);
    expect(m.applier.expiredLeases(1e12)).toEqual([]);
    expect(m.applier.applyBatch([good], 0)[0]).toMatchObject({ op: "leaseGrant" });
  });
});
