import { describe, expect, it } from "vitest";
import { fromUtf8 } from "../../util/bytes.ts";
import { HistoryModel, enc } from "./history_model.ts";
import { ERR_DUPLICATE_WATCH_ID, ERR_EMPTY_WATCHER_RANGE, WatchHub } from "./hub.ts";
import type { WatchStream } from "./stream.ts";
import { FILTER_NODELETE, FILTER_NOPUT, type WatchCreateRequest, type WatchLimits, type WatchResponse } from "./types.ts";

function create(key: string, opts: Partial<Omit<WatchCreateRequest, "key" | "rangeEnd">> & { end?: string | Uint8Array } = {}) {
  const { end, ...rest } = opts;
  return {
    createRequest: {
      key: enc(key),
      rangeEnd: typeof end === "string" ? enc(end) : (end ?? new Uint8Array(0)),
      startRevision: 0,
      progressNotify: false,
      filters: [],
      prevKv: false,
      watchId: 0,
      fragment: false,
      ...rest,
    },
  };
}

/** A response in a compact readable form. */
function show(r: WatchResponse): string {
  const parts = [`rev=${r.revision}`, `id=${r.watchId}`];
  if (r.created) parts.push("created");
  if (r.canceled) parts.push("canceled");
  if (r.compactRevision) parts.push(`compact=${r.compactRevision}`);
  if (r.cancelReason) parts.push(`reason=${r.cancelReason}`);
  for (const e of r.events) {
    let ev = `${e.type === "PUT" ? "put" : "del"}:${fromUtf8(e.kv.key)}@${e.kv.modRevision}`;
    if (e.type === "PUT") ev += `=${fromUtf8(e.kv.value)}`;
    if (e.prevKv) ev += `(prev ${fromUtf8(e.prevKv.value)}@${e.prevKv.modRevision})`;
    parts.push(ev);
  }
  return parts.join(" ");
}

function setup(limits: Partial<WatchLimits> = {}) {
  const h = new HistoryModel();
  const hub = new WatchHub(h, limits);
  const s = hub.openStream();
  const drain = (st: WatchStream = s) => st.take().map((q) => show(q.response));
  const run = () => {
    hub.onApplied();
    while (hub.step());
  };
  return { h, hub, s, drain, run };
}

describe("watch hub: creation", () => {
  it("creates with server-chosen ids from 0, client ids, refuses duplicates and empty ranges", () => {
    const { hub, s, drain } = setup();
    hub.handle(s, create("a"));
    hub.handle(s, create("a", { watchId: 7 }));
    hub.handle(s, create("a"));
    hub.handle(s, create("a", { watchId: 7 }));
    hub.handle(s, create("b", { end: "a" }));
    hub.handle(s, create("b", { end: "b" }));
    expect(drain()).toEqual([
      "rev=1 id=0 created",
      "rev=1 id=7 created",
      "rev=1 id=1 created",
      `rev=1 id=-1 created canceled reason=${ERR_DUPLICATE_WATCH_ID}`,
      `rev=1 id=-1 created canceled reason=${ERR_EMPTY_WATCHER_RANGE}`,
      `rev=1 id=-1 created canceled reason=${ERR_EMPTY_WATCHER_RANGE}`,
    ]);
  });

  it("limits watchers per stream", () => {
    const { hub, s, drain } = setup({ maxWatchersPerStream: 2 });
    for (let i = 0; i < 3; i++) hub.handle(s, create("a"));
    expect(drain()[2]).toMatch(/id=-1 created canceled reason=etcdo: too many watches/);
  });

  it("ignores a request with no union member and cancels of unknown ids", () => {
    const { hub, s, drain } = setup();
    hub.handle(s, { empty: true });
    hub.handle(s, { cancelRequest: { watchId: 3 } });
    expect(drain()).toEqual([]);
  });
});

describe("watch hub: matching", () => {
  it("delivers each event once to key, prefix, range and from-key watchers at the boundaries", () => {
    const { h, hub, s, drain, run } = setup();
    hub.handle(s, create("b", { watchId: 1 })); // single key
    hub.handle(s, create("b", { watchId: 2, end: "c" })); // prefix b
    hub.handle(s, create("a", { watchId: 3, end: "b\0" })); // [a, b\0)
    hub.handle(s, create("b", { watchId: 4, end: new Uint8Array([0]) })); // >= b
    hub.handle(s, create("", { watchId: 5, end: new Uint8Array([0]) })); // everything
    drain();
    h.put("a", "1");
    h.put("b", "2");
    h.put("b\0", "3");
    h.put("c", "4");
    run();
    // Within one revision the order across watchers is unspecified (Go map order in etcd).
    expect(drain().sort()).toEqual([
      "rev=2 id=3 put:a@2=1",
      "rev=2 id=5 put:a@2=1",
      "rev=3 id=1 put:b@3=2",
      "rev=3 id=2 put:b@3=2",
      "rev=3 id=3 put:b@3=2",
      "rev=3 id=4 put:b@3=2",
      "rev=3 id=5 put:b@3=2",
      "rev=4 id=2 put:b\0@4=3",
      "rev=4 id=4 put:b\0@4=3",
      "rev=4 id=5 put:b\0@4=3",
      "rev=5 id=4 put:c@5=4",
      "rev=5 id=5 put:c@5=4",
    ].sort());
  });

  it("sends a revision's events together, deletes with key and mod revision", () => {
    const { h, hub, s, drain, run } = setup();
    h.put("x", "0");
    hub.handle(s, create("", { end: new Uint8Array([0]) }));
    drain();
    h.txn([{ put: [enc("p"), enc("1")] }, { put: [enc("q"), enc("2")] }, { del: enc("x") }]);
    h.del("nothing");
    run();
    expect(drain()).toEqual(["rev=3 id=0 put:p@3=1 put:q@3=2 del:x@3"]);
  });

  it("applies NOPUT / NODELETE filters and sends nothing when all is filtered", () => {
    const { h, hub, s, drain, run } = setup();
    hub.handle(s, create("k", { watchId: 1, filters: [FILTER_NOPUT] }));
    hub.handle(s, create("k", { watchId: 2, filters: [FILTER_NODELETE] }));
    hub.handle(s, create("k", { watchId: 3, filters: [FILTER_NOPUT, FILTER_NODELETE, 9] }));
    drain();
    h.put("k", "1");
    h.del("k");
    run();
    expect(drain()).toEqual(["rev=2 id=2 put:k@2=1", "rev=3 id=1 del:k@3"]);
  });

  it("adds prev_kv except for creations", () => {
    const { h, hub, s, drain, run } = setup();
    hub.handle(s, create("k", { prevKv: true }));
    drain();
    h.put("k", "1");
    h.put("k", "2");
    h.del("k");
    run();
    expect(drain()).toEqual([
      "rev=2 id=0 put:k@2=1",
      "rev=3 id=0 put:k@3=2(prev 1@2)",
      "rev=4 id=0 del:k@4(prev 2@3)",
    ]);
  });

  it("stops events after a cancel", () => {
    const { h, hub, s, drain, run } = setup();
    hub.handle(s, create("k"));
    h.put("k", "1");
    run();
    hub.handle(s, { cancelRequest: { watchId: 0 } });
    h.put("k", "2");
    run();
    expect(drain()).toEqual(["rev=1 id=0 created", "rev=2 id=0 put:k@2=1", "rev=2 id=0 canceled"]);
  });
});

describe("watch hub: history", () => {
  it("replays from a past revision, then continues live without a gap", () => {
    const { h, hub, s, drain, run } = setup();
    for (let i = 0; i < 5; i++) h.put("k", String(i)); // revs 2..6
    hub.handle(s, create("k", { startRevision: 4 }));
    run();
    h.put("k", "live");
    run();
    expect(drain()).toEqual(["rev=6 id=0 created", "rev=6 id=0 put:k@4=2 put:k@5=3 put:k@6=4", "rev=7 id=0 put:k@7=live"]);
  });

  it("sends at most batchMaxRevisions revisions per response, with the current revision", () => {
    const { h, hub, s, drain, run } = setup({ batchMaxRevisions: 3 });
    for (let i = 0; i < 7; i++) h.put("k", String(i)); // revs 2..8
    hub.handle(s, create("k", { startRevision: 2 }));
    run();
    expect(drain()).toEqual([
      "rev=8 id=0 created",
      "rev=8 id=0 put:k@2=0 put:k@3=1 put:k@4=2",
      "rev=8 id=0 put:k@5=3 put:k@6=4 put:k@7=5",
      "rev=8 id=0 put:k@8=6",
    ]);
  });

  it("keeps a byte budget per round but never splits a revision", () => {
    const { h, hub, s, drain, run } = setup({ syncBudgetBytes: 1, syncPageRows: 1 });
    h.txn([{ put: [enc("a"), enc("1")] }, { put: [enc("b"), enc("2")] }]);
    h.put("a", "3");
    hub.handle(s, create("", { end: new Uint8Array([0]), startRevision: 1 }));
    run();
    expect(drain()).toEqual(["rev=3 id=0 created", "rev=3 id=0 put:a@2=1 put:b@2=2", "rev=3 id=0 put:a@3=3"]);
  });

  it("answers a watch below the compaction with created, then canceled with compact_revision", () => {
    const { h, hub, s, drain, run } = setup();
    for (let i = 0; i < 4; i++) h.put("k", String(i)); // revs 2..5
    h.compact(4);
    hub.handle(s, create("k", { startRevision: 3, watchId: 1 }));
    hub.handle(s, create("k", { startRevision: 4, watchId: 2 }));
    run();
    expect(drain()).toEqual([
      "rev=5 id=1 created",
      "rev=5 id=2 created",
      "rev=0 id=1 canceled compact=4",
      "rev=5 id=2 put:k@4=2 put:k@5=3",
    ]);
    // etcd keeps the compacted watcher's id until the client cancels it.
    hub.handle(s, create("k", { watchId: 1 }));
    expect(drain()).toEqual([`rev=5 id=-1 created canceled reason=${ERR_DUPLICATE_WATCH_ID}`]);
  });

  it("replays everything from a negative start when nothing is compacted (etcd 3.4)", () => {
    const { h, hub, s, drain, run } = setup();
    h.put("k", "1");
    hub.handle(s, create("k", { startRevision: -1 }));
    run();
    expect(drain()).toEqual(["rev=2 id=0 created", "rev=2 id=0 put:k@2=1"]);
  });
});

describe("watch hub: saved state version", () => {
  /** What a transport persists: synced watchers as 0, the others at their next revision. */
  const persisted = (hub: WatchHub, st: WatchStream) => JSON.stringify(hub.save(st).map((w) => [w.spec.id, w.synced ? 0 : w.nextRev]));

  it("moves whenever what save() reports changes, and not for events to synced watchers", () => {
    const { h, hub, s, run } = setup({ streamBufferResponses: 3, batchMaxRevisions: 2 });
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let last = persisted(hub, s);
    let version = s.savedStateVersion;
    let nextId = 1;
    for (let i = 0; i < 400; i++) {
      const r = random();
      if (r < 0.5) h.put(`k${Math.floor(random() * 3)}`, String(i));
      else if (r < 0.6) hub.handle(s, create("k", { watchId: nextId++, end: "l", startRevision: Math.max(0, h.rev() - Math.floor(random() * 8)) }));
      else if (r < 0.65) hub.handle(s, { cancelRequest: { watchId: 1 + Math.floor(random() * nextId) } });
      else if (r < 0.8) s.take(1 + Math.floor(random() * 3));
      run();
      const now = persisted(hub, s);
      if (now !== last) expect(s.savedStateVersion, `step ${i}`).not.toBe(version);
      last = now;
      version = s.savedStateVersion;
    }

    const quiet = setup();
    quiet.hub.handle(quiet.s, create("k", { watchId: 1 }));
    quiet.run();
    quiet.drain();
    const before = quiet.s.savedStateVersion;
    for (let i = 0; i < 20; i++) {
      quiet.h.put("k", String(i));
      quiet.run();
      expect(quiet.drain()).toHaveLength(1);
    }
    expect(quiet.s.savedStateVersion).toBe(before);
  });
});

describe("watch hub: slow consumers", () => {
  it("turns a full stream's watchers into victims and later delivers every event in order", () => {
    const { h, hub, s, run } = setup({ streamBufferResponses: 2 });
    hub.handle(s, create("k", { watchId: 1 }));
    hub.handle(s, create("k", { watchId: 2, prevKv: true }));
    const fast = hub.openStream();
    hub.handle(fast, create("k", { watchId: 9 }));
    const seen = new Map<number, number[]>();
    const collect = (st: WatchStream, n = Infinity) => {
      for (const q of st.take(n)) for (const e of q.response.events) {
        const list = seen.get(q.response.watchId) ?? [];
        list.push(e.kv.modRevision);
        seen.set(q.response.watchId, list);
      }
    };
    collect(s);
    for (let i = 0; i < 50; i++) {
      h.put("k", String(i));
      run();
      collect(fast);
      if (i % 7 === 0) collect(s, 1); // a slow reader
    }
    expect(hub.stats().victims + hub.stats().unsynced).toBeGreaterThan(0);
    for (let i = 0; i < 100 && (s.pending() > 0 || hub.hasWork()); i++) {
      collect(s, 1);
      run();
    }
    const want = Array.from({ length: 50 }, (_, i) => i + 2);
    expect(seen.get(1)).toEqual(want);
    expect(seen.get(2)).toEqual(want);
    expect(seen.get(9)).toEqual(want);
    expect(hub.stats()).toMatchObject({ synced: 3, unsynced: 0, victims: 0 });
  });
});

describe("watch hub: progress", () => {
  it("answers a progress request with watch_id -1 only once every watcher is synced", () => {
    const { h, hub, s, drain, run } = setup({ batchMaxRevisions: 1 });
    hub.handle(s, { progressRequest: {} });
    for (let i = 0; i < 3; i++) h.put("k", String(i)); // revs 2..4
    hub.handle(s, create("k", { startRevision: 2 }));
    hub.handle(s, { progressRequest: {} });
    run();
    expect(drain()).toEqual([
      "rev=1 id=-1",
      "rev=4 id=0 created",
      "rev=4 id=0 put:k@2=0",
      "rev=4 id=0 put:k@3=1",
      "rev=4 id=0 put:k@4=2",
      "rev=4 id=-1",
    ]);
  });

  it("notifies idle progress_notify watchers on each tick, skipping one after events", () => {
    const { h, hub, s, drain, run } = setup();
    hub.handle(s, create("k", { progressNotify: true, watchId: 1 }));
    hub.handle(s, create("j", { watchId: 2 }));
    drain();
    hub.progressTick();
    expect(drain()).toEqual(["rev=1 id=1"]);
    h.put("k", "1");
    run();
    hub.progressTick();
    expect(drain()).toEqual(["rev=2 id=1 put:k@2=1"]);
    hub.progressTick();
    expect(drain()).toEqual(["rev=2 id=1"]);
  });

  it("never notifies progress for an unsynced watcher", () => {
    const { h, hub, s, drain } = setup();
    h.put("k", "1");
    hub.handle(s, create("k", { progressNotify: true, startRevision: 2 }));
    hub.progressTick();
    expect(drain()).toEqual(["rev=2 id=0 created"]);
  });
});

describe("watch hub: save and restore", () => {
  it("resumes restored watchers at their next revision", () => {
    const { h, hub, s, drain, run } = setup();
    hub.handle(s, create("k", { watchId: 4, prevKv: true }));
    h.put("k", "1");
    run();
    drain();
    const saved = hub.save(s);
    expect(saved).toMatchObject([{ nextRev: 3, synced: true, spec: { id: 4, prevKv: true } }]);
    h.put("k", "2");
    h.put("k", "3");
    const hub2 = new WatchHub(h);
    const s2 = hub2.openStream();
    for (const w of saved) hub2.restore(s2, w);
    while (hub2.step());
    expect(s2.take().map((q) => show(q.response))).toEqual(["rev=4 id=4 put:k@3=2(prev 1@2) put:k@4=3(prev 2@3)"]);
  });
});
