// Watch over the client's shared stream, against a real etcd (the gateway's WebSocket and HTTP
// stream) and against etcdo (the multiplexed socket; ETCDO_TEST_TARGET=etcdo), including
// resuming after a dropped stream and after the member holding it crashes.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, startTestServer } from "../../test/support/etcd-client-server.ts";
import { Etcd, type Watch, type WatchEvent, type WatchResponse, WatchCompactedError, isWatchCompacted } from "../src/index.ts";

let server: TestServer;
let etcd: Etcd;
let n = 0;
const fresh = () => `w${Date.now().toString(36)}-${n++}/`;
const onEtcdo = () => server.kind === "etcdo";

beforeAll(async () => {
  server = await startTestServer();
  etcd = new Etcd({ endpoints: server.url, timeout: 10_000 });
});
afterAll(async () => {
  etcd?.close();
  await server?.stop();
});

/** Collects a watch's events until `count` have come (or fails after `ms`). */
function collect(w: Watch, count: number, ms = 8000): Promise<WatchEvent[]> {
  return new Promise((resolve, reject) => {
    const out: WatchEvent[] = [];
    const t = setTimeout(() => reject(new Error(`timed out with ${out.length}/${count} events: ${out.map(desc).join(" ")}`)), ms);
    void (async () => {
      try {
        for await (const r of w) {
          out.push(...r.events);
          if (out.length >= count) break;
        }
        clearTimeout(t);
        resolve(out);
      } catch (e) {
        clearTimeout(t);
        reject(e);
      }
    })();
  });
}

const desc = (e: WatchEvent) => `${e.type}:${e.kv.keyString}=${e.kv.valueString}@${e.kv.modRevision}`;

describe("watch", () => {
  it("delivers puts and deletes of a key, with prevKv, through the iterator", async () => {
    const p = fresh();
    const w = etcd.watch(`${p}k`, { prevKv: true });
    await w.ready;
    const got = collect(w, 3);
    const r1 = await etcd.put(`${p}k`, "v1");
    await etcd.put(`${p}other`, "x");
    await etcd.put(`${p}k`, "v2");
    const r3 = await etcd.delete(`${p}k`);
    const ev = await got;
    expect(ev.map((e) => e.type)).toEqual(["put", "put", "delete"]);
    expect(ev[0]!.kv.valueString).toBe("v1");
    expect(ev[0]!.kv.modRevision).toBe(r1.header.revision);
    expect(ev[0]!.prevKv).toBeNull();
    expect(ev[1]!.prevKv!.valueString).toBe("v1");
    expect(ev[2]!.kv.modRevision).toBe(r3.header.revision);
    expect(ev[2]!.prevKv!.valueString).toBe("v2");
    expect(await w.done).toBeUndefined(); // leaving the loop canceled it
  });

  it("watches a prefix, a range and from a key; keys are relative to a namespace", async () => {
    const p = fresh();
    const ns = etcd.namespace(p);
    const wp = ns.watch("a/", { prefix: true });
    const wr = ns.watch("b", { rangeEnd: "d" });
    const wf = ns.watch("c", { fromKey: true });
    await Promise.all([wp.ready, wr.ready, wf.ready]);
    const [gp, gr, gf] = [collect(wp, 2), collect(wr, 2), collect(wf, 2)];
    for (const k of ["a/1", "a", "b", "a/2", "c", "d", "e"]) await ns.put(k, k);
    expect((await gp).map((e) => e.kv.keyString)).toEqual(["a/1", "a/2"]);
    expect((await gr).map((e) => e.kv.keyString)).toEqual(["b", "c"]);
    expect((await gf).map((e) => e.kv.keyString)).toEqual(["c", "d"]);
  });

  it("replays history from startRevision, with noPut / noDelete filters and callbacks", async () => {
    const p = fresh();
    const r0 = await etcd.put(`${p}a`, "1");
    await etcd.put(`${p}a`, "2");
    await etcd.delete(`${p}a`);
    await etcd.put(`${p}b`, "3");
    const all = await collect(etcd.watch(p, { prefix: true, startRevision: r0.header.revision }), 4);
    expect(all.map(desc)).toEqual([
      `put:${p}a=1@${r0.header.revision}`,
      `put:${p}a=2@${r0.header.revision + 1}`,
      `delete:${p}a=@${r0.header.revision + 2}`,
      `put:${p}b=3@${r0.header.revision + 3}`,
    ]);
    const dels: WatchEvent[] = [];
    const w = etcd.watch(p, { prefix: true, startRevision: r0.header.revision, noPut: true, onEvents: (ev) => dels.push(...ev) });
    const puts = await collect(etcd.watch(p, { prefix: true, startRevision: r0.header.revision, noDelete: true }), 3);
    expect(puts.every((e) => e.type === "put")).toBe(true);
    await until(() => dels.length >= 1);
    expect(dels.map((e) => e.type)).toEqual(["delete"]);
    await w.cancel();
  });

  it("answers a progress request at the current revision", async () => {
    const p = fresh();
    const progress: number[] = [];
    const w = etcd.watch(`${p}k`, { onProgress: (rev) => progress.push(rev) });
    await w.ready;
    const r = await etcd.put(`${p}other`, "x");
    w.requestProgress();
    await until(() => progress.length > 0);
    expect(progress[0]).toBeGreaterThanOrEqual(r.header.revision);
    await w.cancel();
  });

  it("fails a watch below the compaction revision with WatchCompactedError", async () => {
    const p = fresh();
    const r1 = await etcd.put(`${p}k`, "1");
    const r2 = await etcd.put(`${p}k`, "2");
    await etcd.compact(r2.header.revision);
    const errors: unknown[] = [];
    const w = etcd.watch(`${p}k`, { startRevision: r1.header.revision, onError: (e) => errors.push(e) });
    const err = await w.done;
    expect(err).toBeInstanceOf(WatchCompactedError);
    expect(isWatchCompacted(err)).toBe(true);
    expect((err as WatchCompactedError).compactRevision).toBe(r2.header.revision);
    expect(errors).toEqual([err]);
    await expect(collect(w, 1)).rejects.toBeInstanceOf(WatchCompactedError);
    // The app re-lists and watches from there.
    const list = await etcd.get(`${p}k`);
    expect(list!.valueString).toBe("2");
  });

  it("carries many watches on one socket", async () => {
    const sockets: string[] = [];
    const c = new Etcd({
      endpoints: server.url,
      webSocket: (url, protocols) => {
        sockets.push(new URL(url).pathname);
        return new WebSocket(url, protocols);
      },
    });
    try {
      const p = fresh();
      const ws = Array.from({ length: 5 }, (_, i) => c.watch(`${p}${i}`));
      await Promise.all(ws.map((w) => w.ready));
      expect(c.stream.kind).toBe(onEtcdo() ? "mux" : "ws");
      const got = ws.map((w) => collect(w, 1));
      for (let i = 0; i < 5; i++) await c.put(`${p}${i}`, String(i));
      expect((await Promise.all(got)).map((ev) => ev[0]!.kv.valueString)).toEqual(["0", "1", "2", "3", "4"]);
      // etcd has no multiplexed socket: the client tries it once, then uses the gateway's.
      expect(sockets).toEqual(onEtcdo() ? ["/v3/etcdo/stream"] : ["/v3/etcdo/stream", "/v3/watch"]);
    } finally {
      c.close();
    }
  });

  for (const mode of ["ws", "http"] as const) {
    it(`works over the gateway's ${mode === "ws" ? "WebSocket" : "HTTP stream"} too`, async () => {
      const c = new Etcd({ endpoints: server.url, streamMode: mode });
      try {
        const p = fresh();
        const w = c.watch(p, { prefix: true });
        await w.ready;
        expect(c.stream.kind).toBe(mode);
        const got = collect(w, 2);
        await c.put(`${p}a`, "1");
        await c.delete(`${p}a`);
        expect((await got).map((e) => e.type)).toEqual(["put", "delete"]);
      } finally {
        c.close();
      }
    });
  }

  it("resumes every watch after a dropped stream with no lost or repeated event", async () => {
    const c = new Etcd({ endpoints: server.url });
    try {
      const p = fresh();
      const seen: WatchEvent[][] = [[], []];
      const ws = [c.watch(p, { prefix: true, onEvents: (ev) => seen[0]!.push(...ev) }), c.watch(`${p}k3`, { onEvents: (ev) => seen[1]!.push(...ev) })];
      await Promise.all(ws.map((w) => w.ready));
      const revs: number[] = [];
      for (let i = 0; i < 30; i++) {
        revs.push((await c.put(`${p}k${i % 5}`, String(i))).header.revision);
        if (i % 7 === 3) c.stream.reconnect();
      }
      await until(() => seen[0]!.length >= 30 && seen[1]!.length >= 6);
      expect(seen[0]!.map((e) => e.kv.modRevision)).toEqual(revs);
      expect(seen[1]!.map((e) => e.kv.valueString)).toEqual(["3", "8", "13", "18", "23", "28"]);
      expect(c.stream.reconnects).toBeGreaterThanOrEqual(4);
      expect(ws[0]!.revision).toBe(revs[revs.length - 1]);
      await Promise.all(ws.map((w) => w.cancel()));
    } finally {
      c.close();
    }
  });

  it.runIf(process.env.ETCDO_TEST_TARGET === "etcdo")("goes on after the member holding the stream crashes", async () => {
    const c = new Etcd({ endpoints: server.url, timeout: 10_000 });
    try {
      const p = fresh();
      const seen: WatchEvent[] = [];
      const w = c.watch(p, { prefix: true, onEvents: (ev) => seen.push(...ev) });
      await w.ready;
      const members = await c.memberList();
      const holder = members.members.find((m) => m.id === w.memberId)!;
      expect(holder).toBeTruthy();
      const revs: number[] = [];
      for (let i = 0; i < 5; i++) revs.push((await c.put(`${p}k${i}`, String(i))).header.revision);
      const before = c.stream.reconnects;
      const res = await fetch(`${server.url}/_fault`, { method: "POST", body: JSON.stringify({ action: "crash", member: holder.name }) });
      expect(res.ok).toBe(true);
      for (let i = 5; i < 15; i++) revs.push((await c.put(`${p}k${i}`, String(i))).header.revision);
      await until(() => seen.length >= 15, 15_000);
      expect(seen.map((e) => e.kv.modRevision)).toEqual(revs);
      expect(c.stream.reconnects).toBeGreaterThan(before);
      await w.cancel();
    } finally {
      c.close();
    }
  });

  it("stops on cancel, on an aborted signal and when the client closes", async () => {
    const p = fresh();
    const w1 = etcd.watch(p, { prefix: true });
    await w1.ready;
    await w1.cancel();
    expect(await w1.done).toBeUndefined();
    const ac = new AbortController();
    const w2 = etcd.watch(p, { prefix: true, signal: ac.signal });
    await w2.ready;
    ac.abort();
    expect(await w2.done).toBeUndefined();
    const c = new Etcd({ endpoints: server.url });
    const w3 = c.watch(p, { prefix: true });
    await w3.ready;
    c.close();
    expect(await w3.done).toBeUndefined();
    const it = w3[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(true);
  });
});

async function until(cond: () => boolean, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

export type { WatchResponse };
