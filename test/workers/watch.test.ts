// Watch on member Durable Objects in workerd: sockets held with the hibernation API keep
// their watches across eviction, the multiplexed socket carries watch and keepalive, bad
// frames are answered without harm, HTTP streams, progress ticks. Nothing waits on time:
// every wait is for a message.
import { runInDurableObject, reset } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import type { Member } from "../../src/member/member.ts";
import type { WatchHost } from "../../src/member/watch_host.ts";
import { electLeader, evict, ok, put, stubs } from "./cluster_support.ts";

import { b64, unb64, Client, openSocket, events } from "./socket_support.ts";

// Members keep ticking on real alarms: stop them before the file's environment is torn down
// (an alarm running then leaves vitest an RPC pending at teardown).
afterAll(() => reset());

describe("watch on a member", () => {
  it("answers a bad frame with an error and leaves the socket and its watches alone", async () => {
    const s = stubs("watch-bad");
    await electLeader(s);
    const c = await openSocket(s.m1!);
    c.send({ create_request: { key: b64("k") } });
    await c.take(1);
    c.send("not json");
    c.send('{"create_request":{"key":5}}');
    const errs = await c.take(2);
    expect(errs).toEqual([
      { error: "invalid character 'o' in literal null (expecting 'u')", message: "invalid character 'o' in literal null (expecting 'u')", code: 2 },
      { error: "json: cannot unmarshal number into Go value of type []uint8", message: "json: cannot unmarshal number into Go value of type []uint8", code: 2 },
    ]);
    // A request may be split across frames, as in etcd's byte-stream gateway.
    c.send('{"create_request":');
    c.send('{"key":"' + b64("j") + '","watch_id":"4"}}');
    expect((await c.take(1))[0].result).toMatchObject({ watch_id: "4", created: true });
    ok(await s.m1!.unary("Put", put("k", "v")));
    ok(await s.m1!.unary("Put", put("j", "v")));
    expect((await c.take(2)).map(events)).toEqual([["PUT k@2"], ["PUT j@3"]]);
    c.ws.close();
  });

  it("refuses watches beyond what a socket can carry across hibernation, and an unfinished frame above the limit", async () => {
    const s = stubs("watch-limits");
    await electLeader(s);
    const c = await openSocket(s.m1!);
    // 300 creates in one frame, each key 40 bytes: more than one socket's attachment holds.
    const keys = Array.from({ length: 300 }, (_, i) => `limits/${String(i).padStart(33, "0")}`);
    c.send(keys.map((k, i) => JSON.stringify({ create_request: { key: b64(k), watch_id: String(i + 1) } })).join("\n"));
    const created = await c.take(300);
    const refused = created.filter((m) => m.result.canceled);
    expect(refused.length).toBeGreaterThan(0);
    for (const m of refused) expect(m.result).toMatchObject({ watch_id: "-1", created: true, canceled: true, cancel_reason: "etcdo: too many watches on this socket" });
    const accepted = created.filter((m) => !m.result.canceled).map((m) => Number(m.result.watch_id));
    expect(accepted).toEqual(Array.from({ length: accepted.length }, (_, i) => i + 1));

    // Two requests, then one split across frames (at a JSON token boundary: the gateway ends
    // each frame with a newline) and too large to carry in the attachment meanwhile.
    const bigKey = "big/" + "x".repeat(100_000);
    c.send(
      [
        JSON.stringify({ cancel_request: { watch_id: "1" } }),
        JSON.stringify({ create_request: { key: b64("short"), watch_id: "1" } }),
        JSON.stringify({ cancel_request: { watch_id: "1" } }),
        `{"create_request":{"key":"${b64(bigKey)}",`,
      ].join("\n"),
    );
    c.send('"watch_id":"1000"}}');
    const answers = (await c.take(4)).map((m) => m.result);
    expect(answers[0]).toMatchObject({ watch_id: "1", canceled: true });
    expect(answers[1]).toMatchObject({ watch_id: "1", created: true });
    expect(answers[1].canceled).toBeUndefined();
    expect(answers[2]).toMatchObject({ watch_id: "1", canceled: true });
    expect(answers[3]).toMatchObject({ watch_id: "-1", created: true, canceled: true, cancel_reason: "etcdo: too many watches on this socket" });

    // A frame above the limit (2 MiB), or an unfinished request grown above it over several
    // frames, is dropped with an error.
    c.send('{"create_request":{"key":"' + "A".repeat(2 * 1024 * 1024 + 16));
    const part = "A".repeat(800_000);
    c.send(`{"create_request":{"key":"${part}",`);
    c.send(`"range_end":"${part}",`);
    c.send(`"start_revision":"1","x":"${part}",`);
    const tooLarge = (message: string) => ({ error: message, message, code: 8 });
    expect(await c.take(2)).toEqual([
      tooLarge("etcdo: frame of 2097194 bytes is larger than the limit (2097152)"),
      tooLarge("etcdo: unfinished request larger than the frame limit"),
    ]);

    // Every accepted watch survives the member's eviction (its attachment was written).
    await evict(s.m1!);
    await electLeader(s);
    const last = accepted[accepted.length - 1]!;
    ok(await s.m1!.unary("Put", put(keys[last - 1]!, "v")));
    expect((await c.take(1))[0].result).toMatchObject({ watch_id: String(last) });
    c.ws.close();
  });

  it("refuses a socket above the member's limit with 503 and etcd's error body, the others unharmed", async () => {
    const s = stubs("watch-max-sockets");
    await electLeader(s);
    await runInDurableObject(s.m1!, (m: Member) => {
      (m as unknown as { watch: { opts: { maxSockets: number } } }).watch.opts.maxSockets = 2;
    });
    const a = await openSocket(s.m1!);
    const b = await openSocket(s.m1!, "/v3/etcdo/stream");
    const refused = await s.m1!.fetch("http://etcdo/v3/watch", { headers: { Upgrade: "websocket" } });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({ error: "etcdo: too many sockets on this member (limit 2)", message: "etcdo: too many sockets on this member (limit 2)", code: 14 });
    a.send({ create_request: { key: b64("k"), watch_id: "1" } });
    b.send({ watch: { create_request: { key: b64("k"), watch_id: "1" } } });
    await a.take(1);
    await b.take(1);
    ok(await s.m1!.unary("Put", put("k", "v")));
    expect(events((await a.take(1))[0])).toEqual(["PUT k@2"]);
    expect(events((await b.take(1))[0])).toEqual(["PUT k@2"]);
    a.ws.close();
    b.ws.close();
  });

  it("answers a Bearer subprotocol in kind", async () => {
    const s = stubs("watch-bearer");
    await electLeader(s);
    const res = await s.m1!.fetch("http://etcdo/v3/watch", { headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": "Bearer, abc" } });
    expect(res.status).toBe(101);
    expect(res.headers.get("Sec-WebSocket-Protocol")).toBe("Bearer");
    res.webSocket!.accept();
    res.webSocket!.close();
  });

  it("carries watch and lease keepalive on one multiplexed socket", async () => {
    const s = stubs("watch-mux");
    const leader = await electLeader(s);
    const follower = Object.keys(s).find((m) => m !== leader)!;
    const grant = ok<{ ID: bigint }>(await s[leader]!.unary("LeaseGrant", { TTL: 30, ID: 0n }));
    const c = await openSocket(s[follower]!, "/v3/etcdo/stream");
    c.send({ watch: { create_request: { key: b64("cfg/"), range_end: b64("cfg0"), watch_id: 1 } } });
    expect((await c.take(1))[0].watch).toMatchObject({ watch_id: "1", created: true });
    c.send({ keepalive: { ID: String(grant.ID) } });
    const ka = (await c.take(1))[0];
    expect(ka.keepalive).toMatchObject({ ID: String(grant.ID), TTL: "30" });
    c.send("ping");
    expect(await c.take(1)).toEqual(["pong"]);
    c.send({ nothing: 1 });
    c.send("{");
    expect(await c.take(2)).toEqual([
      { error: { code: 3, message: 'a frame holds "watch" or "keepalive"' } },
      { error: { code: 3, message: "unexpected EOF" } },
    ]);
    c.send({ keepalive: { ID: "12345" } });
    expect((await c.take(1))[0].keepalive).toMatchObject({ ID: "12345" });
    ok(await s[leader]!.unary("Put", put("cfg/a", "1")));
    expect(events((await c.take(1))[0])).toEqual(["PUT cfg/a@2"]);
    c.ws.close();
  });

  it("streams over HTTP and delivers every event to a reader that falls behind", async () => {
    const s = stubs("watch-http");
    await electLeader(s);
    const res = await s.m1!.fetch("http://etcdo/v3/watch", {
      method: "POST",
      body: JSON.stringify({ create_request: { key: b64("k"), watch_id: 3 } }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json");
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = "";
    const next = async (): Promise<any> => {
      for (;;) {
        const nl = buf.indexOf("\n");
        if (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          return JSON.parse(line);
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buf += dec.decode(value, { stream: true });
      }
    };
    expect((await next()).result).toMatchObject({ watch_id: "3", created: true });
    const n = 200; // more responses than the stream buffers: the watcher becomes a victim
    for (let i = 0; i < n; i++) ok(await s.m1!.unary("Put", put("k", String(i))));
    const behind = await runInDurableObject(s.m1!, (m: Member) => (m as unknown as { watch: WatchHost }).watch.hub.stats());
    expect(behind.victims + behind.unsynced).toBe(1); // the reader fell behind: caught up from history
    const revs: number[] = [];
    while (revs.length < n) for (const e of (await next()).result.events) revs.push(Number(e.kv.mod_revision));
    expect(revs).toEqual(Array.from({ length: n }, (_, i) => i + 2));
    await reader.cancel();
  }, 60_000);

  it("sends progress notifications to idle progress_notify watchers on each tick", async () => {
    const s = stubs("watch-progress");
    await electLeader(s);
    const c = await openSocket(s.m1!);
    c.send({ create_request: { key: b64("k"), progress_notify: true, watch_id: 2 } });
    await c.take(1);
    const tick = () => runInDurableObject(s.m1!, (m: Member) => (m as unknown as { watch: WatchHost }).watch.progressTick());
    await tick();
    expect((await c.take(1))[0].result).toEqual({ header: expect.objectContaining({ revision: "1" }), watch_id: "2" });
    ok(await s.m1!.unary("Put", put("k", "1")));
    await c.take(1);
    await tick(); // events since the last tick: no notification
    c.send({ progress_request: {} }); // a marker: the next message must be its answer
    expect((await c.take(1))[0].result).toMatchObject({ watch_id: "-1", header: { revision: "2" } });
    c.ws.close();
  });
});
