// The member Durable Object in workerd: requests over DO RPC, durability across eviction,
// lease expiry driven by the alarm (run on demand, not by sleeping).
import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Member } from "../../src/member/member.ts";
import type { UnaryResult } from "../../src/member/rpc.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string) => enc.encode(s);

function put(key: string, value: string, lease = 0n) {
  return { key: b(key), value: b(value), lease, prevKv: false, ignoreValue: false, ignoreLease: false };
}
function range(key: string, rangeEnd = "") {
  return {
    key: b(key), rangeEnd: b(rangeEnd), limit: 0, revision: 0, sortOrder: "NONE", sortTarget: "KEY",
    serializable: false, keysOnly: false, countOnly: false,
    minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
  };
}
function ok<T>(r: UnaryResult): T {
  if (!r.ok) throw new Error(`unexpected error ${r.code}: ${r.message}`);
  return r.response as T;
}

describe("member", () => {
  it("applies writes with etcd revisions and keeps them across eviction", async () => {
    const stub = env.MEMBER.getByName("evict/m1") as DurableObjectStub<Member>;
    const p1 = ok<{ header: { revision: number } }>(await stub.unary("Put", put("a", "1")));
    const p2 = ok<{ header: { revision: number } }>(await stub.unary("Put", put("a", "2")));
    expect([p1.header.revision, p2.header.revision]).toEqual([2, 3]);
    await evictDurableObject(stub);
    const r = ok<{ kvs: { value: Uint8Array; version: number; createRevision: number }[]; count: number }>(
      await stub.unary("Range", range("a")),
    );
    expect(r.count).toBe(1);
    expect(dec.decode(r.kvs[0]!.value)).toBe("2");
    expect(r.kvs[0]!.version).toBe(2);
    expect(r.kvs[0]!.createRevision).toBe(2);
  });

  it("answers etcd's errors as values and changes nothing", async () => {
    const stub = env.MEMBER.getByName("errors/m1") as DurableObjectStub<Member>;
    const bad = await stub.unary("Put", put("", "x"));
    expect(bad).toEqual({ ok: false, code: 3, message: "etcdserver: key is not provided" });
    const noLease = await stub.unary("Put", put("k", "v", 12345n));
    expect(noLease).toEqual({ ok: false, code: 5, message: "etcdserver: requested lease not found" });
    const r = ok<{ header: { revision: number }; count: number }>(await stub.unary("Range", range("\0", "\0")));
    expect(r.header.revision).toBe(1);
    expect(r.count).toBe(0);
  });

  it("revokes an expired lease from the alarm, deleting its keys in one revision", async () => {
    const stub = env.MEMBER.getByName("lease/m1") as DurableObjectStub<Member>;
    const grant = ok<{ ID: bigint; TTL: number }>(await stub.unary("LeaseGrant", { TTL: 1, ID: 0n }));
    expect(grant.TTL).toBe(2); // raised to the minimum TTL
    ok(await stub.unary("Put", put("l/a", "1", grant.ID)));
    ok(await stub.unary("Put", put("l/b", "2", grant.ID)));
    // Not yet expired: the alarm runs and revokes nothing.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(ok<{ count: number }>(await stub.unary("Range", range("l/", "l0"))).count).toBe(2);
    // Move the lessor's clock past the expiry instead of sleeping.
    await runInDurableObject(stub, (instance: Member) => {
      const realNow = Date.now;
      Date.now = () => realNow() + 3_000;
      try {
        return (instance as unknown as { alarm(): Promise<void> }).alarm();
      } finally {
        Date.now = realNow;
      }
    });
    const after = ok<{ header: { revision: number }; count: number }>(await stub.unary("Range", range("l/", "l0")));
    expect(after.count).toBe(0);
    // grant (no revision), two puts (rev 2, 3), one revoke deleting both keys (rev 4)
    expect(after.header.revision).toBe(4);
    const ttl = ok<{ TTL: number }>(await stub.unary("LeaseTimeToLive", { ID: grant.ID, keys: false }));
    expect(ttl.TTL).toBe(-1);
  });
});
