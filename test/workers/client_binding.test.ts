// The client inside a Worker, over a service binding to etcdo's front door (SELF here): fetch
// only, no outgoing WebSocket, so watches run on the gateway's HTTP stream. KV, txn, a watch,
// a kept-alive lease with a key on it, and a lock, against the 3-member cluster the front
// door drives (its members tick on real alarms).
import { SELF, reset } from "cloudflare:test";
import { afterAll, expect, it } from "vitest";
import { Etcd, compare, op } from "../../client/src/index.ts";

afterAll(() => reset());

it("works over a service binding: KV, txn, watch on the HTTP stream, lease keepalive, lock", async () => {
  const etcd = new Etcd({ endpoints: "http://etcdo", fetch: (u, i) => SELF.fetch(u, i), webSocket: null });
  try {
    // The first request also waits out the cluster's first election (real alarms).
    await etcd.put("cfg/warm", "1", { timeout: 20_000 });

    const seen: string[] = [];
    let got!: () => void;
    const twoEvents = new Promise<void>((r) => (got = r));
    const watch = etcd.watch("cfg/", {
      prefix: true,
      prevKv: true,
      onEvents: (events) => {
        for (const e of events) seen.push(`${e.type} ${e.kv.keyString}=${e.kv.valueString} prev=${e.prevKv?.valueString ?? "-"}`);
        if (seen.length >= 2) got();
      },
    });
    await watch.ready;
    await etcd.put("cfg/color", "blue");
    await etcd.put("cfg/color", "green");
    await twoEvents;
    expect(seen).toEqual(["put cfg/color=blue prev=-", "put cfg/color=green prev=blue"]);
    watch.cancel();
    expect(await watch.done).toBeUndefined();

    const swapped = await etcd.txn().if(compare.value("cfg/color", "==", "green")).then(op.put("cfg/color", "red")).commit();
    expect(swapped.succeeded).toBe(true);
    expect(await etcd.getString("cfg/color")).toBe("red");

    const lease = await etcd.lease(5);
    await etcd.put("cfg/session", "here", { lease: lease.id });
    expect((await etcd.timeToLive(lease.id, { keys: true })).keys.map((k) => new TextDecoder().decode(k))).toEqual(["cfg/session"]);
    const lock = await etcd.lock("cfg/lock", { lease: lease.id });
    expect(lock.revision).toBeGreaterThan(0);
    await lock.unlock();
    await lease.revoke();
    expect(await etcd.getString("cfg/session")).toBeNull();
  } finally {
    etcd.close();
  }
}, 60_000);
