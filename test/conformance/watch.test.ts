// Watch against a real etcd: the same writes and the same watch requests, over the
// gateway's HTTP stream and its WebSocket mode, must give the same responses.
import { it } from "vitest";
import { b64, describeConformance, prefixEnd, useSession } from "./harness.ts";
import { WatchPair } from "./watch_harness.ts";

describeConformance("conformance: Watch", () => {
  const s = useSession();

  const put = (key: string, value: string, extra: object = {}) =>
    s.post("/v3/kv/put", { key: b64(key), value: b64(value), ...extra }, { expectStatus: 200 });
  const del = (key: string, rangeEnd?: string) =>
    s.post("/v3/kv/deleterange", { key: b64(key), ...(rangeEnd === undefined ? {} : { range_end: b64(rangeEnd) }) }, { expectStatus: 200 });
  const rev = async () => Number((await s.post("/v3/kv/range", { key: b64("none") }, { expectStatus: 200 })).json.header.revision);
  const create = (key: string, opts: object = {}) => ({ create_request: { key: b64(key), ...opts } });

  it("HTTP stream: a key from now, events with prev_kv, DELETE with key and mod_revision", async () => {
    await put("w1/k", "0");
    const w = await WatchPair.http(s, [create("w1/k", { prev_kv: true })]);
    await w.expectSame(1, "created");
    await put("w1/k", "1");
    await put("w1/other", "x");
    await del("w1/k");
    await del("w1/k"); // nothing deleted: no event
    await put("w1/k", "2"); // a new creation: no prev_kv
    await w.expectSame(4, "events");
    w.close();
  });

  it("HTTP stream: several watches in one body, prefix / range / from-key, filters, one revision per response", async () => {
    const w = await WatchPair.http(s, [
      create("w2/", { range_end: b64(prefixEnd("w2/")), watch_id: 1 }),
      create("w2/b", { range_end: b64("w2/d"), watch_id: 2 }),
      create("w2/c", { range_end: b64("\0"), watch_id: 3 }),
      create("w2/", { range_end: b64(prefixEnd("w2/")), watch_id: 4, filters: ["NOPUT"] }),
      create("w2/", { range_end: b64(prefixEnd("w2/")), watch_id: 5, filters: [1] }),
      create("", { range_end: b64("\0"), watch_id: 6 }),
    ]);
    await w.expectSame(6, "created");
    await put("w2/a", "1");
    await put("w2/b", "1");
    await put("w2/d", "1");
    await put("w3", "1");
    await s.post(
      "/v3/kv/txn",
      {
        success: [
          { request_put: { key: b64("w2/a"), value: b64("2") } },
          { request_put: { key: b64("w2/c"), value: b64("2") } },
          { request_delete_range: { key: b64("w2/b") } },
        ],
      },
      { expectStatus: 200 },
    );
    await del("w2/", prefixEnd("w2/"));
    await w.expectSame(6 + 20, "events");
    w.close();
  });

  it("history: replay from a past revision, then live; more than 1000 revisions in chunks", async () => {
    const start = (await rev()) + 1;
    for (let i = 0; i < 1100; i++) await put("w4/k", String(i));
    const w = await WatchPair.http(s, [create("w4/k", { start_revision: String(start), watch_id: 9 })]);
    await w.expectSame(3, "created and two catch-up responses");
    await put("w4/k", "live");
    await w.expectSame(4, "live event after catch-up");
    w.close();
  });

  it("WebSocket: several watches on one socket, progress, cancel, client ids, duplicates and refusals", async () => {
    const w = await WatchPair.ws(s);
    w.send(create("w5/a", { watch_id: 7 }));
    w.send(create("w5/b", { watch_id: 8 }));
    w.send(create("w5/a")); // server-chosen: 0
    w.send(create("w5/a", { watch_id: 7 })); // duplicate
    w.send(create("w5/b", { range_end: b64("w5/a") })); // empty range
    await w.expectSame(5, "created and refusals");
    w.send({ progress_request: {} });
    await w.expectSame(6, "progress");
    await put("w5/a", "1");
    await put("w5/b", "1");
    w.send({ cancel_request: { watch_id: "8" } });
    w.send({ cancel_request: { watch_id: "99" } }); // unknown: no answer
    await w.expectSame(10, "events and cancel");
    await put("w5/b", "2");
    w.send(JSON.stringify(create("w5/c", { watch_id: 11 })) + JSON.stringify({ progress_request: {} })); // two in one frame
    await w.expectSame(12, "no event after cancel; two requests in one frame");
    w.close();
  });

  it("WebSocket: the Bearer subprotocol is answered in kind", async () => {
    const w = await WatchPair.ws(s, ["Bearer", "sometoken"]);
    w.send({ progress_request: {} });
    await w.expectSame(1, "progress on a Bearer socket");
    const p = w.protocols();
    if (p.etcdo !== undefined && p.etcdo !== p.etcd) throw new Error(`subprotocol: ${JSON.stringify(p)}`);
    w.close();
  });

  it("compaction: a watch below it is created then canceled with compact_revision; at it, replayed", async () => {
    await put("w6/k", "1");
    const r2 = Number((await put("w6/k", "2")).json.header.revision);
    await put("w6/k", "3");
    await s.post("/v3/kv/compaction", { revision: String(r2) }, { expectStatus: 200 });
    const w = await WatchPair.http(s, [create("w6/k", { start_revision: String(r2 - 1), watch_id: 1 })]);
    await w.expectSame(2, "compacted");
    w.close();
    const v = await WatchPair.http(s, [create("w6/k", { start_revision: String(r2), watch_id: 2, prev_kv: true })]);
    await v.expectSame(2, "from the compaction revision (prev_kv of compacted revisions left out)");
    v.close();
  });

  it("fragment: a response above the limit is split when asked, whole otherwise", async () => {
    const start = (await rev()) + 1;
    const big = "x".repeat(1024 * 1024);
    await put("w7/a", big);
    await put("w7/b", big);
    await put("w7/c", "small");
    const w = await WatchPair.http(s, [
      create("w7/", { range_end: b64(prefixEnd("w7/")), start_revision: String(start), fragment: true, watch_id: 1 }),
    ]);
    await w.expectSame(3, "created and two fragments");
    w.close();
    const v = await WatchPair.http(s, [create("w7/", { range_end: b64(prefixEnd("w7/")), start_revision: String(start), watch_id: 2 })]);
    await v.expectSame(2, "created and one whole response");
    v.close();
  });

  it("bad bodies: a bad first value fails the call as etcd does; an empty request union is ignored", async () => {
    for (const body of ["x", '{"create_request":{"key":1}}', '{"create_request":{"key":"Zg"}}']) {
      const w = await WatchPair.http(s, body);
      await w.expectSame(1, `error for ${body}`);
      w.close();
    }
    const w = await WatchPair.http(s, "{}" + JSON.stringify(create("w8/k", { watch_id: 3 })) + "garbage" + JSON.stringify({ progress_request: {} }));
    await w.expectSame(1, "created, nothing after the bad value");
    w.close();
  });
});
