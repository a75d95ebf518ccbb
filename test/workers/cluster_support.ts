// Drives a cluster of member Durable Objects inside workerd without sleeping: ticks come from
// running each member's alarm on demand.
import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { Member } from "../../src/member/member.ts";
import type { MemberStatus, UnaryResult } from "../../src/member/rpc.ts";

export const MEMBERS = ["m1", "m2", "m3"];
const enc = new TextEncoder();
export const b = (s: string) => enc.encode(s);

export function stubs(cluster: string): Record<string, DurableObjectStub<Member>> {
  return Object.fromEntries(MEMBERS.map((m) => [m, env.MEMBER.getByName(`${cluster}/${m}`) as DurableObjectStub<Member>]));
}

/** Runs every member's alarm (one tick each or more), `rounds` times. */
export async function tickAll(members: Record<string, DurableObjectStub<Member>>, rounds = 1): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    for (const s of Object.values(members)) await runDurableObjectAlarm(s);
  }
}

/** Every member's status, in member order. */
export async function statuses(members: Record<string, DurableObjectStub<Member>>): Promise<MemberStatus[]> {
  return (await Promise.all(Object.values(members).map((s) => s.status()))) as MemberStatus[];
}

/** Ticks every member until all have applied the same index (or `rounds` pass); their statuses. */
export async function converge(members: Record<string, DurableObjectStub<Member>>, rounds = 40): Promise<MemberStatus[]> {
  let st: MemberStatus[] = [];
  for (let i = 0; i < rounds; i++) {
    await tickAll(members);
    st = await statuses(members);
    if (new Set(st.map((x) => x.applied)).size === 1) return st;
  }
  return st;
}

/** Ticks until exactly one member reports itself leader and everyone agrees; returns it. */
export async function electLeader(members: Record<string, DurableObjectStub<Member>>, maxRounds = 200): Promise<string> {
  for (let i = 0; i < maxRounds; i++) {
    await tickAll(members);
    const st = await statuses(members);
    const leaders = st.filter((x) => x.role === "Leader");
    if (leaders.length === 1 && st.every((x) => x.leader === leaders[0]!.member)) return leaders[0]!.member;
  }
  throw new Error("no leader elected");
}

export function put(key: string, value: string, lease = 0n) {
  return { key: b(key), value: b(value), lease, prevKv: false, ignoreValue: false, ignoreLease: false };
}

export function range(key: string, rangeEnd = "", serializable = false) {
  return {
    key: b(key), rangeEnd: b(rangeEnd), limit: 0, revision: 0, sortOrder: "NONE", sortTarget: "KEY",
    serializable, keysOnly: false, countOnly: false,
    minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
  };
}

export function ok<T>(r: UnaryResult): T {
  if (!r.ok) throw new Error(`unexpected error ${r.code}: ${r.message}`);
  return r.response as T;
}

/**
 * Evicts a member (its sockets hibernate) and proves it: a mark left on the old instance must
 * be gone from the one that answers next. evictDurableObject() waits for the object to go
 * idle. On workerd before 1.20260805.1 a member holding a hibernatable socket never went
 * idle when another request had overlapped the socket's upgrade (workerd issue #6862, fixed
 * by commit 81303b4c5): the upgrade's request stayed alive as long as the socket. The pinned
 * runtime (package.json overrides) has the fix; watch_eviction.test.ts covers that case.
 */
export async function evict(stub: DurableObjectStub<Member>): Promise<void> {
  const MARK = "__etcdoTestMark";
  await runInDurableObject(stub, (instance: Member) => {
    (instance as unknown as Record<string, boolean>)[MARK] = true;
  });
  // No alarm due meanwhile (an alarm run keeps the object busy); the new instance re-arms
  // its alarm from the timers table.
  await runInDurableObject(stub, (_instance: Member, state: DurableObjectState) => state.storage.deleteAlarm());
  await evictDurableObject(stub);
  const marked = await runInDurableObject(stub, (instance: Member) => (instance as unknown as Record<string, boolean>)[MARK] === true);
  if (marked) throw new Error("the member was not evicted: the same instance still answers");
}
