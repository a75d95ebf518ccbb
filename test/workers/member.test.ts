// Member Durable Objects as a raft cluster in workerd: requests over DO RPC on any member,
// durability across eviction and crash, lease expiry decided by the leader and applied
// through the log. Time advances only by running alarms on demand.
import { runInDurableObject, reset } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import type { Member } from "../../src/member/member.ts";
import type { MemberStatus } from "../../src/member/rpc.ts";
import { converge, electLeader, evict, ok, put, range, stubs, tickAll } from "./cluster_support.ts";

// Members keep ticking on real alarms: stop them before the file's environment is torn down
// (an alarm running then leaves vitest an RPC pending at teardown).
afterAll(() => reset());

const dec = new TextDecoder();

describe("member cluster", () => {
  it("replicates a write sent to a follower and keeps it across eviction of every member", async () => {
    const s = stubs("evict");
    const leader = await electLeader(s);
    const follower = Object.keys(s).find((m) => m !== leader)!;
    const p1 = ok<{ header: { revision: number } }>(await s[follower]!.unary("Put", put("a", "1")));
    const p2 = ok<{ header: { revision: number } }>(await s[leader]!.unary("Put", put("a", "2")));
    expect([p1.header.revision, p2.header.revision]).toEqual([2, 3]);
    for (const stub of Object.values(s)) await evict(stub);
    await electLeader(s);
    for (const stub of Object.values(s)) {
      const r = ok<{ kvs: { value: Uint8Array; version: number; createRevision: number }[]; count: number }>(
        await stub.unary("Range", range("a")),
      );
      expect(r.count).toBe(1);
      expect(dec.decode(r.kvs[0]!.value)).toBe("2");
      expect(r.kvs[0]!.version).toBe(2);
      expect(r.kvs[0]!.createRevision).toBe(2);
    }
  });

  it("answers etcd's errors as values and changes nothing", async () => {
    const s = stubs("errors");
    await electLeader(s);
    expect(await s.m1!.unary("Put", put("", "x"))).toMatchObject({ ok: false, code: 3, message: "etcdserver: key is not provided" });
    expect(await s.m2!.unary("Put", put("k", "v", 12345n))).toMatchObject({
      ok: false, code: 5, message: "etcdserver: requested lease not found",
    });
    const r = ok<{ header: { revision: number }; count: number }>(await s.m3!.unary("Range", range("\0", "\0")));
    expect(r.header.revision).toBe(1);
    expect(r.count).toBe(0);
  });

  it("revokes an expired lease on the leader through the log, deleting its keys in one revision everywhere", async () => {
    const s = stubs("lease");
    const leader = await electLeader(s);
    const grant = ok<{ ID: bigint; TTL: number }>(await s.m1!.unary("LeaseGrant", { TTL: 1, ID: 0n }));
    expect(grant.TTL).toBe(2); // raised to the minimum TTL: ceil(1.5 × 1 s election timeout)
    ok(await s.m2!.unary("Put", put("l/a", "1", grant.ID)));
    ok(await s.m3!.unary("Put", put("l/b", "2", grant.ID)));
    await tickAll(s, 2); // not expired yet: nothing revoked
    expect(ok<{ count: number }>(await s[leader]!.unary("Range", range("l/", "l0"))).count).toBe(2);
    // Move the leader's clock past the expiry instead of sleeping, then tick.
    await runInDurableObject(s[leader]!, async (instance: Member) => {
      const realNow = Date.now;
      Date.now = () => realNow() + 3_000;
      try {
        await instance.alarm();
      } finally {
        Date.now = realNow;
      }
    });
    await tickAll(s, 3);
    for (const stub of Object.values(s)) {
      const after = ok<{ header: { revision: number }; count: number }>(await stub.unary("Range", range("l/", "l0")));
      expect(after.count).toBe(0);
      // two puts (rev 2, 3), one revoke deleting both keys (rev 4)
      expect(after.header.revision).toBe(4);
    }
    const ttl = ok<{ TTL: number }>(await s.m2!.unary("LeaseTimeToLive", { ID: grant.ID, keys: false }));
    expect(ttl.TTL).toBe(-1);
  });

  it("recovers a crashed member from storage and converges", async () => {
    const s = stubs("crash");
    expect(Object.keys(s)).toEqual(["m1", "m2", "m3"]);
    const leader = await electLeader(s);
    const victim = leader === "m2" ? "m3" : "m2"; // a follower: writes keep flowing without ticks
    for (let i = 0; i < 5; i++) ok(await s.m1!.unary("Put", put(`c${i}`, "v")));
    // In-memory state (an injected block) must be gone after the crash.
    await s[victim]!.fault({ kind: "block", peers: [leader] });
    expect(((await s[victim]!.status()) as MemberStatus).blocked).toEqual([leader]);
    await s[victim]!.fault({ kind: "crash" });
    await new Promise((r) => setTimeout(r, 20)); // let the reset happen (not a timing assertion)
    Object.assign(s, stubs("crash")); // a stub to a reset object is broken; callers take a new one
    expect(((await s[victim]!.status()) as MemberStatus).blocked).toEqual([]);
    ok(await s.m1!.unary("Put", put("c5", "v")));
    const st = await converge(s, 20);
    expect(new Set(st.map((x) => x.applied)).size).toBe(1);
    expect(st.every((x) => x.revision === 7)).toBe(true);
  });
});
