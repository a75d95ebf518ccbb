// Lock safety on the 3-member cluster. Clients increment a shared counter only while holding
// the lock, with fencing: each write is a txn that compares the lock key's create revision
// (the fencing token) so it applies only while the writer's key still holds the lock. Leader
// crashes, paused members and paused lock holders (whose leases expire) run meanwhile; every
// increment that succeeded must be distinct and none lost. A second test shows what happens
// without fencing: a paused holder loses the lock and its late write loses an increment.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b64, startTestCluster, type TestCluster } from "./support.ts";
import { keepAlive, sleep, until200 } from "./lease_support.ts";

let c: TestCluster;
beforeAll(async () => {
  c = await startTestCluster();
  await c.waitForLeader();
});
afterAll(async () => c?.dispose());

const COUNTER = b64("counter");
const LOCK = b64("counter-lock");

async function readCounter(): Promise<{ value: number; found: boolean }> {
  const r = await c.post("/v3/kv/range", { key: COUNTER }, { timeoutMs: 3000 });
  if (r.status !== 200) throw new Error(`range ${r.status}`);
  const kv = r.json.kvs?.[0];
  return { value: kv ? Number(Buffer.from(kv.value ?? "", "base64").toString() || "0") : 0, found: !!kv };
}

/** The fencing token: the create revision of the lock key, undefined if the key is gone. */
async function tokenOf(key: string): Promise<string | undefined> {
  const r = await c.post("/v3/kv/range", { key }, { timeoutMs: 3000 });
  if (r.status !== 200) throw new Error(`range ${r.status}`);
  return r.json.kvs?.[0]?.create_revision;
}

function fencedPut(lockKey: string, token: string, value: number) {
  return c.post("/v3/kv/txn", {
    compare: [{ target: "CREATE", key: lockKey, create_revision: token, result: "EQUAL" }],
    success: [{ request_put: { key: COUNTER, value: b64(String(value)) } }],
  }, { timeoutMs: 3000 });
}

describe("lock safety", () => {
  it("fenced increments under leader crashes, paused members and paused holders are exact", async () => {
    const CLIENTS = 4;
    const RUN_MS = 14_000;
    const stopAt = Date.now() + RUN_MS;
    const written: number[] = [];
    let unknown = 0;
    let fencedOut = 0;
    let pausedHolders = 0;
    let lockFailures = 0;

    const client = async (n: number) => {
      let round = 0;
      while (Date.now() < stopAt) {
        let lease: string;
        try {
          const g = await c.post("/v3/lease/grant", { TTL: 2 }, { timeoutMs: 3000 });
          if (g.status !== 200) continue;
          lease = g.json.ID;
        } catch {
          continue;
        }
        const ka = keepAlive(c, lease, 400);
        try {
          let key: string | undefined;
          try {
            const l = await c.post("/v3/lock/lock", { name: LOCK, lease }, { timeoutMs: 8000 });
            if (l.status === 200) key = l.json.key;
            else lockFailures++;
          } catch {
            lockFailures++;
          }
          if (!key) continue;
          const token = await tokenOf(key).catch(() => undefined);
          if (!token) continue;
          const { value } = await readCounter();
          // Now and then the holder pauses (no keepalive) long enough for its lease to expire
          // and the next waiter to take the lock; its write then meets the fence.
          if (++round % 6 === 2 + n) {
            ka.stop();
            pausedHolders++;
            await sleep(4000);
          }
          try {
            const w = await fencedPut(key, token, value + 1);
            if (w.status === 200 && w.json.succeeded) written.push(value + 1);
            else if (w.status === 200) fencedOut++;
            else unknown++;
          } catch {
            unknown++;
          }
          await c.post("/v3/lock/unlock", { key }, { timeoutMs: 3000 }).catch(() => undefined);
        } finally {
          ka.stop();
          await c.post("/v3/lease/revoke", { ID: lease }, { timeoutMs: 3000 }).catch(() => undefined);
        }
      }
    };

    const faults = (async () => {
      await sleep(2500);
      const leader = await c.waitForLeader();
      await c.fault({ action: "crash", member: leader });
      await sleep(3000);
      await c.fault({ action: "pause", member: await c.waitForLeader(), ms: 1500 });
      await sleep(3500);
      const s = await c.status();
      await c.fault({ action: "crash", member: s.members.find((m) => m.member !== s.leader)!.member });
    })();

    await Promise.all([...Array.from({ length: CLIENTS }, (_, i) => client(i)), faults]);
    await c.waitForLeader();
    const final = (await until200(c, "/v3/kv/range", { key: COUNTER })).kvs?.[0];
    const finalValue = final ? Number(Buffer.from(final.value, "base64").toString()) : 0;

    console.log(`lock: ${written.length} fenced increments, ${fencedOut} refused by the fence, ${unknown} unknown outcomes, ` +
      `${pausedHolders} paused holders, ${lockFailures} lock calls failed; counter ${finalValue}`);
    expect(written.length).toBeGreaterThan(5);
    expect(pausedHolders).toBeGreaterThan(0);
    expect(fencedOut).toBeGreaterThan(0); // paused holders did lose the lock, and were refused
    // Mutual exclusion: no two successful increments wrote the same value.
    expect(new Set(written).size).toBe(written.length);
    // Nothing lost: the counter counts every acknowledged increment (plus any unknown ones).
    expect(finalValue).toBeGreaterThanOrEqual(written.length);
    expect(finalValue).toBeLessThanOrEqual(written.length + unknown);
  });

  it("without fencing a paused holder loses the lock and its late write loses an increment; with fencing it is refused", async () => {
    await c.post("/v3/kv/put", { key: COUNTER, value: b64("100") });
    const run = async (fenced: boolean) => {
      const a = (await c.post("/v3/lease/grant", { TTL: 2 })).json.ID;
      const b = (await c.post("/v3/lease/grant", { TTL: 30 })).json.ID;
      const la = await c.post("/v3/lock/lock", { name: b64("pause-lock"), lease: a });
      expect(la.status).toBe(200);
      const tokenA = (await tokenOf(la.json.key))!;
      const seenByA = (await readCounter()).value;
      // B waits behind A; A "pauses" (no keepalive): its lease expires and B gets the lock.
      const lb = await c.post("/v3/lock/lock", { name: b64("pause-lock"), lease: b }, { timeoutMs: 8000 });
      expect(lb.status).toBe(200);
      expect(await tokenOf(la.json.key)).toBeUndefined(); // A no longer holds the lock
      const tokenB = (await tokenOf(lb.json.key))!;
      const w = await fencedPut(lb.json.key, tokenB, (await readCounter()).value + 1);
      expect(w.json.succeeded).toBe(true);
      // A wakes up and writes what it computed before its pause.
      let aApplied: boolean;
      if (fenced) aApplied = !!(await fencedPut(la.json.key, tokenA, seenByA + 1)).json.succeeded;
      else aApplied = (await c.post("/v3/kv/put", { key: COUNTER, value: b64(String(seenByA + 1)) })).status === 200;
      await c.post("/v3/lock/unlock", { key: lb.json.key });
      await c.post("/v3/lease/revoke", { ID: b });
      return { aApplied, counter: (await readCounter()).value, before: seenByA };
    };
    const unfenced = await run(false);
    console.log(`without fencing: two increments from ${unfenced.before} left the counter at ${unfenced.counter}`);
    expect(unfenced.aApplied).toBe(true);
    expect(unfenced.counter).toBe(unfenced.before + 1); // one increment lost
    const fenced = await run(true);
    expect(fenced.aApplied).toBe(false);
    expect(fenced.counter).toBe(fenced.before + 1); // B's increment stands; A's stale write refused
  });

  it("a waiter whose lease expires while waiting fails instead of acquiring (etcd 3.4's Jepsen bug)", async () => {
    const holder = (await c.post("/v3/lease/grant", { TTL: 30 })).json.ID;
    const waiter = (await c.post("/v3/lease/grant", { TTL: 2 })).json.ID;
    const h = await c.post("/v3/lock/lock", { name: b64("jepsen"), lease: holder });
    expect(h.status).toBe(200);
    const started = Date.now();
    const w = c.post("/v3/lock/lock", { name: b64("jepsen"), lease: waiter }, { timeoutMs: 8000 });
    const r = await w;
    expect(r.status).toBe(500);
    expect(r.json).toEqual({ error: "session expired", message: "session expired", code: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    // The holder still holds: its key is the first under the prefix.
    const leader = await c.post("/v3/kv/range", { key: b64("jepsen/"), range_end: b64("jepsen0") });
    expect(leader.json.kvs.map((kv: any) => kv.key)).toEqual([h.json.key]);
    await c.post("/v3/lease/revoke", { ID: holder });
  });
});
