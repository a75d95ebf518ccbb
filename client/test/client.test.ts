import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, freePort, startEtcd, startTestServer } from "../../test/support/etcd-client-server.ts";
import {
  Etcd,
  EtcdError,
  GrpcCode,
  compare,
  isCanceled,
  isCompacted,
  isDeadlineExceeded,
  isEmptyKey,
  isAuthFailed,
  isFutureRevision,
  isInvalidAuthToken,
  isKeyNotFound,
  isLeaseNotFound,
  isNetworkError,
  leaseIdFromHex,
  leaseIdToHex,
  op,
  toText,
  type TxnResult,
} from "../src/index.ts";

let server: TestServer;
let etcd: Etcd;
let n = 0;
/** A fresh key prefix per test, so tests never see each other's keys (even on a shared server). */
const fresh = () => `t${Date.now().toString(36)}-${n++}/`;

beforeAll(async () => {
  server = await startTestServer();
  etcd = new Etcd({ endpoints: server.url, timeout: 10_000 });
});
afterAll(async () => {
  await server?.stop();
});

describe("kv", () => {
  it("puts and gets strings, bytes and JSON", async () => {
    const p = fresh();
    const r = await etcd.put(`${p}s`, "hello");
    expect(r.header.revision).toBeGreaterThan(1);
    expect(r.header.clusterId).toMatch(/^\d+$/);
    expect(r.prevKv).toBeNull();
    expect(await etcd.getString(`${p}s`)).toBe("hello");
    const bin = new Uint8Array([0, 1, 2, 255, 254]);
    await etcd.put(new Uint8Array([...new TextEncoder().encode(p), 0xff]), bin);
    expect(await etcd.getBytes(new Uint8Array([...new TextEncoder().encode(p), 0xff]))).toEqual(bin);
    await etcd.putJson(`${p}j`, { a: 1, b: [true, null] });
    expect(await etcd.getJson(`${p}j`)).toEqual({ a: 1, b: [true, null] });
    expect(await etcd.get(`${p}missing`)).toBeNull();
    const kv = (await etcd.get(`${p}s`))!;
    expect(kv.keyString).toBe(`${p}s`);
    expect(kv.version).toBe(1);
    expect(kv.createRevision).toBe(r.header.revision);
    expect(kv.modRevision).toBe(r.header.revision);
    expect(kv.lease).toBe("0");
    await etcd.put(`${p}empty`, "");
    expect(await etcd.getString(`${p}empty`)).toBe("");
  });

  it("ranges: prefix, from-key, explicit end, limit, count, sort, keys-only, count-only", async () => {
    const p = fresh();
    for (const [k, v] of [["a", "3"], ["b", "1"], ["c", "2"], ["d", "0"]]) await etcd.put(p + k, v);
    const all = await etcd.getPrefix(p);
    expect(all.kvs.map((kv) => kv.keyString)).toEqual(["a", "b", "c", "d"].map((k) => p + k));
    expect(all.count).toBe(4);
    expect(all.more).toBe(false);
    const lim = await etcd.getPrefix(p, { limit: 2 });
    expect(lim.kvs.length).toBe(2);
    expect(lim.more).toBe(true);
    expect(lim.count).toBe(4);
    const between = await etcd.range(`${p}b`, { rangeEnd: `${p}d` });
    expect(between.kvs.map((kv) => kv.valueString)).toEqual(["1", "2"]);
    const from = await etcd.range(`${p}c`, { fromKey: true, limit: 2 });
    expect(from.kvs[0]!.keyString).toBe(`${p}c`);
    const byVal = await etcd.getPrefix(p, { sortTarget: "VALUE", sortOrder: "DESCEND" });
    expect(byVal.kvs.map((kv) => kv.valueString)).toEqual(["3", "2", "1", "0"]);
    const desc = await etcd.getPrefix(p, { sortOrder: "DESCEND", limit: 1 });
    expect(desc.kvs[0]!.keyString).toBe(`${p}d`);
    const keys = await etcd.getPrefix(p, { keysOnly: true });
    expect(keys.kvs.every((kv) => kv.value.length === 0)).toBe(true);
    const cnt = await etcd.getPrefix(p, { countOnly: true });
    expect(cnt.kvs).toEqual([]);
    expect(cnt.count).toBe(4);
    expect(await etcd.count(p, { prefix: true })).toBe(4);
    const ser = await etcd.getPrefix(p, { serializable: true });
    expect(ser.count).toBe(4);
  });

  it("reads at a revision and filters by mod/create revision", async () => {
    const p = fresh();
    const r1 = await etcd.put(`${p}k`, "v1");
    const r2 = await etcd.put(`${p}k`, "v2");
    await etcd.put(`${p}other`, "x");
    expect(await etcd.getString(`${p}k`, { revision: r1.header.revision })).toBe("v1");
    expect(await etcd.getString(`${p}k`)).toBe("v2");
    const mod = await etcd.getPrefix(p, { minModRevision: r2.header.revision + 1 });
    expect(mod.kvs.map((kv) => kv.keyString)).toEqual([`${p}other`]);
    const cre = await etcd.getPrefix(p, { maxCreateRevision: r1.header.revision });
    expect(cre.kvs.map((kv) => kv.keyString)).toEqual([`${p}k`]);
    const err = await etcd.get(`${p}k`, { revision: r2.header.revision + 1_000_000 }).catch((e: unknown) => e);
    expect(isFutureRevision(err)).toBe(true);
    expect((err as EtcdError).code).toBe(GrpcCode.OutOfRange);
    expect((err as EtcdError).httpStatus).toBe(400);
  });

  it("put options: prevKv, ignoreValue, ignoreLease", async () => {
    const p = fresh();
    await etcd.put(`${p}k`, "v1");
    const r = await etcd.put(`${p}k`, "v2", { prevKv: true });
    expect(r.prevKv!.valueString).toBe("v1");
    expect(r.prevKv!.keyString).toBe(`${p}k`);
    const l = await etcd.grant(60);
    await etcd.put(`${p}k`, "", { ignoreValue: true, lease: l.id });
    const kv = (await etcd.get(`${p}k`))!;
    expect(kv.valueString).toBe("v2");
    expect(kv.lease).toBe(l.id);
    await etcd.put(`${p}k`, "v3", { ignoreLease: true });
    const kv2 = (await etcd.get(`${p}k`))!;
    expect(kv2.valueString).toBe("v3");
    expect(kv2.lease).toBe(l.id);
    const err = await etcd.put(`${p}nokey`, "", { ignoreValue: true }).catch((e: unknown) => e);
    expect(isKeyNotFound(err)).toBe(true);
    await etcd.revoke(l.id);
  });

  it("deletes single keys, ranges and prefixes, with prevKv", async () => {
    const p = fresh();
    for (const k of ["a", "b", "c", "d"]) await etcd.put(p + k, k.toUpperCase());
    const one = await etcd.delete(`${p}a`, { prevKv: true });
    expect(one.deleted).toBe(1);
    expect(one.prevKvs.map((kv) => kv.valueString)).toEqual(["A"]);
    const rng = await etcd.delete(`${p}b`, { rangeEnd: `${p}d` });
    expect(rng.deleted).toBe(2);
    expect(rng.prevKvs).toEqual([]);
    const none = await etcd.delete(`${p}zzz`);
    expect(none.deleted).toBe(0);
    const rest = await etcd.deletePrefix(p, { prevKv: true });
    expect(rest.deleted).toBe(1);
    expect(rest.prevKvs[0]!.keyString).toBe(`${p}d`);
  });

  it("maps server errors to typed EtcdErrors", async () => {
    const err = await etcd.put("", "x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdError);
    expect(isEmptyKey(err)).toBe(true);
    expect((err as EtcdError).message).toBe("etcdserver: key is not provided");
    expect((err as EtcdError).code).toBe(GrpcCode.InvalidArgument);
    expect((err as EtcdError).codeName).toBe("InvalidArgument");
    expect((err as EtcdError).httpStatus).toBe(400);
    const lnf = await etcd.put(`${fresh()}k`, "v", { lease: "123456789" }).catch((e: unknown) => e);
    expect(isLeaseNotFound(lnf)).toBe(true);
    expect((lnf as EtcdError).code).toBe(GrpcCode.NotFound);
  });
});

describe("txn", () => {
  it("if/then/else with every compare target", async () => {
    const p = fresh();
    const l = await etcd.grant(60);
    const put = await etcd.put(`${p}k`, "v", { lease: l.id });
    const rev = put.header.revision;
    const ok = await etcd
      .txn()
      .if(
        compare.value(`${p}k`, "=", "v"),
        compare.version(`${p}k`, "=", 1),
        compare.createRevision(`${p}k`, "=", rev),
        compare.modRevision(`${p}k`, "<", rev + 1),
        compare.lease(`${p}k`, "=", l.id),
        compare.version(`${p}absent`, "=", 0),
      )
      .then(op.put(`${p}k2`, "new", { prevKv: true }), op.get(`${p}k`), op.delete(`${p}nothing`))
      .else(op.put(`${p}failed`, "1"))
      .commit();
    expect(ok.succeeded).toBe(true);
    expect(ok.responses.map((r) => r.type)).toEqual(["put", "range", "delete"]);
    const rr = ok.responses[1]!;
    expect(rr.type === "range" && rr.range.kvs[0]!.valueString).toBe("v");
    expect(ok.responses[0]!.type === "put" && ok.responses[0].put.header.revision).toBe(ok.header.revision);

    const bad = await etcd.txn().if(compare.value(`${p}k`, "!=", "v")).then(op.put(`${p}x`, "1")).else(op.get(`${p}k2`)).commit();
    expect(bad.succeeded).toBe(false);
    expect(bad.responses[0]!.type === "range" && bad.responses[0].range.kvs[0]!.valueString).toBe("new");
    await etcd.revoke(l.id);
  });

  it("compares over a key range and nests transactions", async () => {
    const p = fresh();
    await etcd.put(`${p}a`, "1");
    await etcd.put(`${p}b`, "1");
    const inner = etcd.txn().if(compare.value(`${p}a`, "=", "1")).then(op.put(`${p}inner`, "yes")).else(op.put(`${p}inner`, "no"));
    const r = await etcd
      .txn()
      .if(compare.value(p, "=", "1", { prefix: true }))
      .then(op.txn(inner), op.get(p, { prefix: true, countOnly: true }))
      .commit();
    expect(r.succeeded).toBe(true);
    const nested = r.responses[0]!;
    expect(nested.type).toBe("txn");
    expect(nested.type === "txn" && nested.txn.succeeded).toBe(true);
    expect(await etcd.getString(`${p}inner`)).toBe("yes");
    await etcd.put(`${p}b`, "2");
    const r2 = await etcd.txn().if(compare.value(p, "=", "1", { prefix: true })).commit();
    expect(r2.succeeded).toBe(false);
  });

  it("commits when awaited and rejects misuse", async () => {
    const p = fresh();
    const builder = etcd.txn().if(compare.version(`${p}k`, "=", 0)).then(op.put(`${p}k`, "created"));
    const r = await (builder as unknown as PromiseLike<TxnResult>);
    expect(r.succeeded).toBe(true);
    expect(await etcd.getString(`${p}k`)).toBe("created");
    expect(() => etcd.txn().then().if()).toThrow(/if\(\) called after then\(\)/);
    const dup = await etcd.txn().then(op.put(`${p}d`, "1"), op.put(`${p}d`, "2")).commit().catch((e: unknown) => e);
    expect((dup as EtcdError).message).toBe("etcdserver: duplicate key given in txn request");
  });
});

describe("namespace", () => {
  it("prefixes keys on the way out and strips them on the way back", async () => {
    const p = fresh();
    const ns = etcd.namespace(`${p}app/`);
    await ns.put("a", "1");
    await ns.put("b", "2");
    await etcd.put(`${p}outside`, "x");
    await etcd.put(`${p}app0`, "next-to-prefix");
    expect(await etcd.getString(`${p}app/a`)).toBe("1");
    expect(await ns.getString("a")).toBe("1");
    const all = await ns.getPrefix("");
    expect(all.kvs.map((kv) => kv.keyString)).toEqual(["a", "b"]);
    const from = await ns.range("b", { fromKey: true });
    expect(from.kvs.map((kv) => kv.keyString)).toEqual(["b"]);
    const all2 = await ns.range("\0", { rangeEnd: "\0" });
    expect(all2.kvs.map((kv) => kv.keyString)).toEqual(["a", "b"]);
    const t = await ns.txn().if(compare.value("a", "=", "1")).then(op.get("", { prefix: true }), op.put("c", "3", { prevKv: true })).commit();
    expect(t.responses[0]!.type === "range" && t.responses[0].range.kvs.map((kv) => kv.keyString)).toEqual(["a", "b"]);
    const l = await ns.grant(60);
    await ns.put("leased", "v", { lease: l.id });
    const ttl = await ns.timeToLive(l.id, { keys: true });
    expect(ttl.keys.map(toText)).toEqual(["leased"]);
    const nested = ns.namespace("sub/");
    await nested.put("z", "9");
    expect(await etcd.getString(`${p}app/sub/z`)).toBe("9");
    const del = await ns.deletePrefix("", { prevKv: true });
    expect(del.prevKvs.map((kv) => kv.keyString).sort()).toEqual(["a", "b", "c", "leased", "sub/z"]);
    expect(await etcd.getString(`${p}outside`)).toBe("x");
    expect(await etcd.getString(`${p}app0`)).toBe("next-to-prefix");
    await ns.revoke(l.id);
  });
});

describe("leases", () => {
  it("grant, timeToLive, leases, keepAliveOnce, revoke", async () => {
    const p = fresh();
    const g = await etcd.grant(30);
    expect(g.ttl).toBe(30);
    expect(g.id).toMatch(/^\d+$/);
    expect(leaseIdFromHex(leaseIdToHex(g.id))).toBe(g.id);
    await etcd.put(`${p}a`, "1", { lease: g.id });
    await etcd.put(`${p}b`, "1", { lease: BigInt(g.id) });
    const ttl = await etcd.timeToLive(g.id, { keys: true });
    expect(ttl.id).toBe(g.id);
    expect(ttl.grantedTtl).toBe(30);
    expect(ttl.ttl).toBeGreaterThan(25);
    expect(ttl.keys.map(toText).sort()).toEqual([`${p}a`, `${p}b`]);
    const noKeys = await etcd.timeToLive(g.id);
    expect(noKeys.keys).toEqual([]);
    expect((await etcd.leases()).leases).toContain(g.id);
    const ka = await etcd.keepAliveOnce(g.id);
    expect(ka.id).toBe(g.id);
    expect(ka.ttl).toBe(30);
    await etcd.revoke(g.id);
    expect(await etcd.get(`${p}a`)).toBeNull();
    expect(isLeaseNotFound(await etcd.revoke(g.id).catch((e: unknown) => e))).toBe(true);
    expect(isLeaseNotFound(await etcd.keepAliveOnce(g.id).catch((e: unknown) => e))).toBe(true);
    const gone = await etcd.timeToLive(g.id);
    expect(gone.ttl).toBe(-1);
    expect((await etcd.leases()).leases).not.toContain(g.id);
  });

  it("grants a chosen ID", async () => {
    const id = String(BigInt(Date.now()) * 1000n + BigInt(n++));
    const g = await etcd.grant(10, { id });
    expect(g.id).toBe(id);
    await etcd.revoke(id);
  });
});

describe("compaction", () => {
  it("compacts and reports compacted revisions", async () => {
    const p = fresh();
    const r1 = await etcd.put(`${p}k`, "1");
    const r2 = await etcd.put(`${p}k`, "2");
    await etcd.compact(r2.header.revision, { physical: true });
    const err = await etcd.get(`${p}k`, { revision: r1.header.revision }).catch((e: unknown) => e);
    expect(isCompacted(err)).toBe(true);
    expect(await etcd.getString(`${p}k`, { revision: r2.header.revision })).toBe("2");
    expect(isCompacted(await etcd.compact(r1.header.revision).catch((e: unknown) => e))).toBe(true);
  });
});

describe("cluster and maintenance", () => {
  it("status, member list, health, version", async () => {
    const st = await etcd.status({ endpoint: server.url });
    expect(st.version).toMatch(/^\d+\.\d+/);
    expect(st.leader).toMatch(/^\d+$/);
    expect(st.raftIndex).toBeGreaterThan(0);
    const ml = await etcd.memberList();
    expect(ml.members.length).toBeGreaterThan(0);
    expect(ml.members.some((m) => m.id === st.header.memberId)).toBe(true);
    expect((await etcd.health()).health).toBe(true);
    expect((await etcd.version()).etcdserver).toMatch(/^\d+\.\d+/);
  });
});

describe("transport", () => {
  it("fails over from a dead endpoint and round-robins", async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const seen: string[] = [];
    const c = new Etcd({
      endpoints: [dead, server.url],
      fetch: (url, init) => {
        seen.push(new URL(url).host);
        return fetch(url, init);
      },
    });
    const p = fresh();
    await c.put(`${p}k`, "v"); // a refused connection is safe to retry, even for a write
    expect(await c.getString(`${p}k`)).toBe("v");
    expect(await c.getString(`${p}k`)).toBe("v");
    expect(seen.filter((h) => h === dead).length).toBeGreaterThanOrEqual(2);
    const onlyDead = new Etcd({ endpoints: dead });
    const err = await onlyDead.get("k").catch((e: unknown) => e);
    expect(isNetworkError(err)).toBe(true);
    expect((err as EtcdError).code).toBe(GrpcCode.Unavailable);
  });

  it("fails over on 503 answers", async () => {
    let calls = 0;
    const c = new Etcd({
      endpoints: ["http://down.invalid", server.url],
      fetch: (url, init) => {
        calls++;
        if (url.startsWith("http://down.invalid")) {
          return Promise.resolve(new Response(JSON.stringify({ error: "etcdserver: no leader", message: "etcdserver: no leader", code: 14 }), { status: 503 }));
        }
        return fetch(url, init);
      },
    });
    const p = fresh();
    await c.put(`${p}k`, "v");
    expect(await c.getString(`${p}k`)).toBe("v");
    expect(calls).toBeGreaterThanOrEqual(3);
  });

  it("times out and cancels with typed errors", async () => {
    const hang = (_url: string, init: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init.signal?.addEventListener("abort", () => reject(init.signal!.reason));
      });
    const c = new Etcd({ endpoints: server.url, fetch: hang, timeout: 50 });
    const t = await c.get("k").catch((e: unknown) => e);
    expect(isDeadlineExceeded(t)).toBe(true);
    expect((t as EtcdError).message).toBe("context deadline exceeded");
    const ctl = new AbortController();
    const pending = new Etcd({ endpoints: server.url, fetch: hang }).get("k", { signal: ctl.signal }).catch((e: unknown) => e);
    ctl.abort();
    expect(isCanceled(await pending)).toBe(true);
    const viaSignal = await new Etcd({ endpoints: server.url, fetch: hang }).get("k", { signal: AbortSignal.timeout(30) }).catch((e: unknown) => e);
    expect(isDeadlineExceeded(viaSignal)).toBe(true);
  });

  it("sends the token as the Authorization header", async () => {
    const headers: string[] = [];
    const c = new Etcd({
      endpoints: server.url,
      token: () => "tok-123",
      fetch: (url, init) => {
        headers.push(new Headers(init.headers).get("authorization") ?? "");
        return fetch(url, init);
      },
    });
    // etcd checks any token it is sent, even with auth disabled: the header got through.
    expect(isInvalidAuthToken(await c.get("anything").catch((e: unknown) => e))).toBe(true);
    expect(headers).toEqual(["tok-123"]);
  });

  it("authenticates with a user name and password, and re-authenticates on a stale token", async () => {
    const own = await startEtcd("auth1");
    try {
      const admin = new Etcd({ endpoints: own.url });
      const t = admin.conn.transport;
      await t.request("/v3/auth/user/add", { name: "root", password: "pw" });
      await t.request("/v3/auth/user/grant", { user: "root", role: "root" });
      await t.request("/v3/auth/enable", {});
      const denied = await admin.get("k").catch((e: unknown) => e);
      expect(denied).toBeInstanceOf(EtcdError);
      const c = new Etcd({ endpoints: own.url, auth: { username: "root", password: "pw" } });
      await c.put("k", "v");
      expect(await c.getString("k")).toBe("v");
      // Disabling auth drops every simple token; the cached one is stale after re-enabling.
      await c.conn.transport.request("/v3/auth/disable", {});
      await t.request("/v3/auth/enable", {});
      expect(await c.getString("k")).toBe("v");
      const bad = new Etcd({ endpoints: own.url, auth: { username: "root", password: "nope" } });
      expect(isAuthFailed(await bad.get("k").catch((e: unknown) => e))).toBe(true);
    } finally {
      await own.stop();
    }
  });
});
