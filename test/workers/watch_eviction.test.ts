// Watch sockets across the member's life: a hibernating socket survives the member's
// eviction, also when another request overlapped the socket's upgrade; a crash closes the
// member's sockets (the client resumes elsewhere). workerd before 1.20260805.1 failed both
// when requests overlapped the upgrade (issue #6862): the pinned runtime (package.json
// overrides) has the fix. Nothing waits on time: every wait is for a message or a close.
import { reset } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import { electLeader, evict, ok, put, stubs } from "./cluster_support.ts";
import { b64, unb64, openSocket, events } from "./socket_support.ts";

// Members keep ticking on real alarms: stop them before the file's environment is torn down
// (an alarm running then leaves vitest an RPC pending at teardown).
afterAll(() => reset());

/**
 * A cluster and a socket on a follower whose upgrade overlapped a second request to it (the
 * case workerd issue #6862 mishandled), watching "k" as watch 1.
 */
async function overlappedWatch(cluster: string) {
  const s = stubs(cluster);
  const leader = await electLeader(s);
  const follower = Object.keys(s).find((m) => m !== leader)!;
  const [c] = await Promise.all([openSocket(s[follower]!), s[follower]!.status()]);
  c.send({ create_request: { key: b64("k"), watch_id: 1 } });
  expect((await c.take(1))[0].result).toMatchObject({ watch_id: "1", created: true });
  return { s, leader, follower, c };
}

describe("watch on a member", () => {
  it("keeps a socket's watches across eviction and resumes exactly at the next revision", async () => {
    const s = stubs("watch-evict");
    const leader = await electLeader(s);
    const follower = Object.keys(s).find((m) => m !== leader)!;
    const c = await openSocket(s[follower]!);
    c.send({ create_request: { key: b64("k"), watch_id: 5, prev_kv: true } });
    c.send({ create_request: { key: b64("p/"), range_end: b64("p0") } });
    const created = await c.take(2);
    expect(created.map((m) => [m.result.watch_id, m.result.created])).toEqual([["5", true], [undefined, true]]);
    ok(await s[follower]!.unary("Put", put("k", "1")));
    expect(events((await c.take(1))[0])).toEqual(["PUT k@2"]);

    await evict(s[follower]!);
    await electLeader(s);
    ok(await s[leader]!.unary("Put", put("k", "2")));
    ok(await s[leader]!.unary("Put", put("p/x", "1")));
    ok(await s[follower]!.unary("Put", put("k", "3")));
    const after = await c.take(3);
    expect(after.map(events)).toEqual([["PUT k@3"], ["PUT p/x@4"], ["PUT k@5"]]);
    expect(unb64(after[0].result.events[0].prev_kv.value)).toBe("1");
    // Ids chosen by the server continue after the restored ones.
    c.send({ create_request: { key: b64("z") } });
    expect((await c.take(1))[0].result).toMatchObject({ watch_id: "1", created: true });
    c.ws.close();
  });

  it("evicts a member whose socket's upgrade overlapped another request to it", async () => {
    const { s, follower, c } = await overlappedWatch("watch-evict-overlap");
    await evict(s[follower]!);
    await electLeader(s);
    ok(await s[follower]!.unary("Put", put("k", "1")));
    expect(events((await c.take(1))[0])).toEqual(["PUT k@2"]);
    c.ws.close();
  });

  it("a crash closes the member's sockets; the client resumes on another member at its next revision", async () => {
    const { s, leader, follower, c } = await overlappedWatch("watch-crash");
    ok(await s[follower]!.unary("Put", put("k", "1")));
    expect(events((await c.take(1))[0])).toEqual(["PUT k@2"]);

    const closed = new Promise<number>((resolve) => c.ws.addEventListener("close", (e) => resolve(e.code)));
    await s[follower]!.fault({ kind: "crash" });
    expect(await closed).toBe(1006);

    const resumed = await openSocket(s[leader]!);
    resumed.send({ create_request: { key: b64("k"), watch_id: 1, start_revision: 3 } });
    await resumed.take(1);
    ok(await s[leader]!.unary("Put", put("k", "2")));
    expect(events((await resumed.take(1))[0])).toEqual(["PUT k@3"]);
    resumed.ws.close();
  });
});
