// Leases kept alive (with a `lost` signal), locks, elections and STM, against a real etcd's
// gateway and against etcdo (ETCDO_TEST_TARGET=etcdo; lock and election tests run there once
// the server has the /v3/lock and /v3/election routes).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, startTestServer } from "../../test/support/etcd-client-server.ts";
import { Etcd, type KeyValue, isLeaseNotFound, toText } from "../src/index.ts";

let server: TestServer;
let etcd: Etcd;
let other: Etcd;
let concurrency = false;
let n = 0;
const fresh = () => `c${Date.now().toString(36)}-${n++}/`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = await startTestServer();
  etcd = new Etcd({ endpoints: server.url, timeout: 10_000 });
  other = new Etcd({ endpoints: server.url, timeout: 10_000 });
  const probe = await fetch(`${server.url}/v3/election/leader`, { method: "POST", body: '{"name":"cHJvYmU="}' });
  concurrency = probe.status !== 404;
});
afterAll(async () => {
  etcd?.close();
  other?.close();
  await server?.stop();
});

async function until(cond: () => boolean | Promise<boolean>, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(20);
  }
}

describe("leases kept alive", () => {
  it("renews a lease past its TTL, then lets it expire once closed", async () => {
    const l = await etcd.lease(2);
    expect(l.ttl).toBeGreaterThanOrEqual(2);
    await sleep(l.ttl * 1000 + 1500);
    expect(l.renewals).toBeGreaterThanOrEqual(2);
    expect(l.lost.aborted).toBe(false);
    expect((await etcd.timeToLive(l.id)).ttl).toBeGreaterThan(0);
    if (server.kind === "etcdo") expect(etcd.stream.kind).toBe("mux"); // renewals ride the multiplexed socket
    l.close();
    await until(async () => (await etcd.timeToLive(l.id)).ttl === -1, l.ttl * 1000 + 4000);
  }, 20_000);

  it("signals `lost` when the lease is revoked elsewhere", async () => {
    const lost: unknown[] = [];
    const l = await etcd.lease(3, { onLost: (e) => lost.push(e) });
    await other.revoke(l.id);
    const e = await l.whenLost;
    expect(isLeaseNotFound(e)).toBe(true);
    expect(l.lost.aborted).toBe(true);
    expect(l.lost.reason).toBe(e);
    expect(lost).toEqual([e]);
  });

  it("keeps an existing lease alive and revokes it with its keys", async () => {
    const p = fresh();
    const g = await etcd.grant(2);
    await etcd.put(`${p}k`, "v", { lease: g.id });
    const l = etcd.keepAlive(g.id, { ttl: g.ttl });
    await sleep(g.ttl * 1000 + 1000);
    expect(await etcd.getString(`${p}k`)).toBe("v");
    await l.revoke();
    expect(await etcd.get(`${p}k`)).toBeNull();
  }, 15_000);
});

describe("locks", () => {
  it("holds a lock until unlocked; the next holder gets a higher fencing revision", async (ctx) => {
    if (!concurrency) return ctx.skip();
    const name = `${fresh()}lock`;
    const a = await etcd.lock(name, { ttl: 10 });
    expect(toText(a.key).startsWith(`${name}/`)).toBe(true);
    expect(a.revision).toBeGreaterThan(0);
    expect((await etcd.get(a.key))!.createRevision).toBe(a.revision);
    let bHeld = false;
    const bp = other.lock(name, { ttl: 10 }).then((b) => ((bHeld = true), b));
    await sleep(500);
    expect(bHeld).toBe(false);
    await a.unlock();
    const b = await bp;
    expect(b.revision).toBeGreaterThan(a.revision);
    expect(await etcd.get(a.key)).toBeNull();
    await b.unlock();
    expect(await etcd.count(`${name}/`, { prefix: true })).toBe(0);
  });

  it("aborts `lost` when the lock's lease goes away", async (ctx) => {
    if (!concurrency) return ctx.skip();
    const held = await etcd.lock(`${fresh()}lock`, { ttl: 3 });
    await other.revoke(held.lease!.id);
    await held.lease!.whenLost;
    expect(held.lost.aborted).toBe(true);
    expect(await etcd.get(held.key)).toBeNull();
  });

  it("gives up waiting at the timeout", async (ctx) => {
    if (!concurrency) return ctx.skip();
    const name = `${fresh()}lock`;
    const a = await etcd.lock(name, { ttl: 10 });
    await expect(other.lock(name, { ttl: 10, timeout: 300 })).rejects.toMatchObject({ message: "context deadline exceeded" });
    await a.unlock();
  });
});

describe("elections", () => {
  it("campaigns, proclaims, resigns; leader and observe follow", async (ctx) => {
    if (!concurrency) return ctx.skip();
    const name = `${fresh()}elect`;
    expect(await etcd.leader(name)).toBeNull();
    const a = await etcd.campaign(name, "a", { ttl: 10 });
    expect(toText(a.key).startsWith(`${name}/`)).toBe(true);
    expect((await other.leader(name))!.valueString).toBe("a");
    const seen: string[] = [];
    const ac = new AbortController();
    const observing = (async () => {
      for await (const kv of other.observe(name, { signal: ac.signal }) as AsyncGenerator<KeyValue>) seen.push(kv.valueString);
    })();
    await until(() => seen.length >= 1);
    let bLeads = false;
    const bp = other.campaign(name, "b", { ttl: 10 }).then((b) => ((bLeads = true), b));
    await a.proclaim("a2");
    await until(() => seen.includes("a2"));
    expect(bLeads).toBe(false);
    await a.resign();
    const b = await bp;
    expect(b.revision).toBeGreaterThan(a.revision);
    await until(() => seen.includes("b"));
    expect(seen).toEqual(["a", "a2", "b"]);
    expect((await etcd.leader(name))!.valueString).toBe("b");
    ac.abort();
    await observing;
    await b.resign();
    expect(await etcd.leader(name)).toBeNull();
  });
});

describe("STM", () => {
  for (const isolation of ["serializableSnapshot", "serializable", "repeatableReads"] as const) {
    it(`${isolation}: concurrent increments lose no update`, async () => {
      const k = `${fresh()}counter`;
      await etcd.put(k, "0");
      const clients = [etcd, other, etcd, other, etcd, other, etcd, other];
      await Promise.all(
        clients.map((c) =>
          c.stm(
            async (s) => {
              const v = Number(await s.get(k));
              s.put(k, String(v + 1));
            },
            { isolation },
          ),
        ),
      );
      expect(await etcd.getString(k)).toBe(String(clients.length));
    });
  }

  it("retries when a key it read changes before commit; readCommitted does not check", async () => {
    const p = fresh();
    await etcd.put(`${p}a`, "1");
    let attempts = 0;
    const r = await etcd.stm(async (s) => {
      attempts++;
      const v = await s.get(`${p}a`);
      if (attempts === 1) await other.put(`${p}a`, "10");
      s.put(`${p}b`, `${v}!`);
    });
    expect(r.succeeded).toBe(true);
    expect(attempts).toBe(2);
    expect(await etcd.getString(`${p}b`)).toBe("10!");
    let rc = 0;
    await etcd.stm(
      async (s) => {
        rc++;
        await s.get(`${p}a`);
        await other.put(`${p}a`, "11");
        s.put(`${p}c`, "x");
      },
      { isolation: "readCommitted" },
    );
    expect(rc).toBe(1);
  });

  it("serializableSnapshot also refuses a write to a key modified since its snapshot", async () => {
    const p = fresh();
    await etcd.put(`${p}r`, "1");
    let attempts = 0;
    await etcd.stm(async (s) => {
      attempts++;
      await s.get(`${p}r`);
      if (attempts === 1) await other.put(`${p}w`, "theirs");
      s.put(`${p}w`, "mine");
    });
    expect(attempts).toBe(2);
    let plain = 0;
    await etcd.stm(
      async (s) => {
        plain++;
        await s.get(`${p}r`);
        if (plain === 1) await other.put(`${p}w2`, "theirs");
        s.put(`${p}w2`, "mine");
      },
      { isolation: "serializable" },
    );
    expect(plain).toBe(1);
  });
});
