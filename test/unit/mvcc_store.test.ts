import { describe, expect, it } from "vitest";
import { MvccStore } from "../../src/mvcc/store.ts";
import { Errors } from "../../src/server/errors.ts";
import { utf8 } from "../../src/util/bytes.ts";
import type { SqlDb } from "../../src/util/sql.ts";
import { openMemoryDb } from "../support/node-sqlite.ts";
import { str } from "./kv_helpers.ts";

const k = (s: string) => utf8(s);
const ALL: [Uint8Array, Uint8Array] = [new Uint8Array([0]), new Uint8Array(0)];

function write(store: MvccStore, f: (t: ReturnType<MvccStore["beginWrite"]>) => void): void {
  store.db.transaction(() => {
    const t = store.beginWrite();
    f(t);
    t.end();
  });
}

function rows(db: SqlDb): string[] {
  return db
    .all<{ key: Uint8Array; rev_main: number; rev_sub: number; tombstone: number }>("SELECT key, rev_main, rev_sub, tombstone FROM kv_rev ORDER BY rev_main, rev_sub")
    .map((r) => `${str(r.key)}@${r.rev_main}.${r.rev_sub}${r.tombstone ? "t" : ""}`);
}

/** Every key at every revision from `from` to current, as "key=value@mod/v" lists. */
function snapshot(store: MvccStore, from: number): string[][] {
  const out: string[][] = [];
  for (let rev = from; rev <= store.rev(); rev++) {
    out.push(store.range(ALL[0], ALL[1], { rev }).kvs.map((kv) => `${str(kv.key)}=${str(kv.value)}@${kv.modRevision}/${kv.version}/${kv.createRevision}`));
  }
  return out;
}

function history(store: MvccStore): void {
  // rev 2..11, with deletes, re-creates, a txn with several changes and a delete+put in one revision
  write(store, (t) => t.put(k("a"), k("1"), "0")); // 2
  write(store, (t) => t.put(k("b"), k("1"), "0")); // 3
  write(store, (t) => t.put(k("a"), k("2"), "0")); // 4
  write(store, (t) => t.deleteRange(k("b"), null)); // 5
  write(store, (t) => {
    t.put(k("c"), k("1"), "0");
    t.put(k("d"), k("1"), "0");
  }); // 6
  write(store, (t) => t.put(k("b"), k("2"), "0")); // 7
  write(store, (t) => t.deleteRange(k("a"), new Uint8Array(0))); // 8: deletes a b c d
  write(store, (t) => {
    t.put(k("a"), k("3"), "0");
    t.deleteRange(k("a"), new Uint8Array(0));
    t.put(k("a"), k("4"), "0");
  }); // 9
  write(store, (t) => t.put(k("e"), k("1"), "0")); // 10
  write(store, (t) => t.put(k("a"), k("5"), "0")); // 11
}

describe("write txns", () => {
  it("bumps once per txn that changed something; sub revisions count changes", () => {
    const store = new MvccStore(openMemoryDb());
    write(store, (t) => {
      expect(t.rev()).toBe(1);
      expect(t.put(k("x"), k("1"), "0")).toBe(2);
      expect(t.rev()).toBe(2);
      expect(t.range(k("x"), null).kvs[0]!.version).toBe(1);
      expect(t.put(k("y"), k("1"), "0")).toBe(2);
      expect(t.deleteRange(k("x"), null)).toEqual([1, 2]);
      expect(t.range(k("x"), null).kvs).toEqual([]);
    });
    expect(store.rev()).toBe(2);
    expect(rows(store.db)).toEqual(["x@2.0", "y@2.1", "x@2.2t"]);
    write(store, (t) => expect(t.deleteRange(k("nothing"), null)).toEqual([0, 2]));
    expect(store.rev()).toBe(2);
  });
  it("a key put, deleted and put again in one revision keeps etcd's versions", () => {
    const store = new MvccStore(openMemoryDb());
    history(store);
    expect(store.range(k("a"), null, { rev: 9 }).kvs[0]).toMatchObject({ version: 1, createRevision: 9, modRevision: 9, value: k("4") });
    expect(store.range(k("a"), null).kvs[0]).toMatchObject({ version: 2, createRevision: 9, modRevision: 11 });
    expect(store.range(k("b"), null, { rev: 5 }).kvs).toEqual([]);
    expect(store.range(k("b"), null, { rev: 7 }).kvs[0]).toMatchObject({ version: 1, createRevision: 7 });
  });
  it("range errors and counts", () => {
    const store = new MvccStore(openMemoryDb());
    history(store);
    expect(() => store.range(k("a"), null, { rev: 12 })).toThrow(Errors.FutureRev);
    expect(store.range(k("a"), new Uint8Array(0), { limit: 1 })).toMatchObject({ count: 2, rev: 11 });
    expect(store.range(k("a"), new Uint8Array(0), { limit: 1, rev: 6 })).toMatchObject({ count: 3, rev: 11 });
    expect(store.range(k("a"), new Uint8Array(0), { count: true, rev: 7 })).toEqual({ kvs: [], count: 4, rev: 11 });
    expect(store.range(k("b"), k("d"), { rev: 7 }).kvs.map((kv) => str(kv.key))).toEqual(["b", "c"]);
  });
});

describe("compaction", () => {
  it("drops superseded revisions and tombstones at or below C, keeps reads >= C", () => {
    const db = openMemoryDb();
    const store = new MvccStore(db);
    history(store);
    const before = snapshot(store, 7);
    store.db.transaction(() => store.compact(7));
    expect(store.compactRev()).toBe(7);
    expect(snapshot(store, 7)).toEqual(before);
    expect(rows(db)).toEqual(["a@4.0", "c@6.0", "d@6.1", "b@7.0", "a@8.0t", "b@8.1t", "c@8.2t", "d@8.3t", "a@9.0", "a@9.1t", "a@9.2", "e@10.0", "a@11.0"]);
    store.db.transaction(() => store.compact(9));
    expect(rows(db)).toEqual(["a@9.2", "e@10.0", "a@11.0"]);
    expect(() => store.range(k("a"), null, { rev: 8 })).toThrow(Errors.Compacted);
    expect(() => store.compact(9)).toThrow(Errors.Compacted);
    expect(() => store.compact(12)).toThrow(Errors.FutureRev);
    store.db.transaction(() => store.compact(11));
    expect(rows(db)).toEqual(["e@10.0", "a@11.0"]);
    expect(store.range(ALL[0], ALL[1], { rev: 11 }).kvs.length).toBe(2);
  });
  it("in batches of one row, reads stay exact between batches and the result is the same", () => {
    const one = new MvccStore(openMemoryDb());
    const batched = new MvccStore(openMemoryDb(), { compactionBatchRows: 1 });
    history(one);
    history(batched);
    const want = snapshot(batched, 8);
    one.db.transaction(() => one.compact(8));
    batched.db.transaction(() => batched.compact(8, true));
    expect(batched.compactionPending()).toBe(true);
    let steps = 0;
    for (;;) {
      expect(snapshot(batched, 8)).toEqual(want);
      steps++;
      if (batched.db.transaction(() => batched.compactionStep())) break;
    }
    expect(steps).toBeGreaterThan(5);
    expect(batched.compactionPending()).toBe(false);
    expect(rows(batched.db)).toEqual(rows(one.db));
    expect(batched.hashKV(0)).toEqual(one.hashKV(0));
  });
  it("a compaction cut short resumes after a restart; a new one finishes the old first", () => {
    const db = openMemoryDb();
    let store = new MvccStore(db, { compactionBatchRows: 2 });
    history(store);
    db.transaction(() => store.compact(5, true));
    db.transaction(() => store.compactionStep());
    store = new MvccStore(db, { compactionBatchRows: 2 });
    expect(store.compactRev()).toBe(5);
    expect(store.compactionPending()).toBe(true);
    db.transaction(() => store.compact(9, true));
    while (!db.transaction(() => store.compactionStep())) {}
    expect(rows(db)).toEqual(["a@9.2", "e@10.0", "a@11.0"]);
  });
  it("hashKV agrees whether physical compaction finished or not, and follows etcd's errors", () => {
    const a = new MvccStore(openMemoryDb());
    const b2 = new MvccStore(openMemoryDb(), { compactionBatchRows: 1 });
    history(a);
    history(b2);
    expect(a.hashKV(0)).toEqual(b2.hashKV(0));
    expect(a.hashKV(0).compactRevision).toBe(-1);
    a.db.transaction(() => a.compact(8));
    b2.db.transaction(() => b2.compact(8, true));
    expect(b2.hashKV(0)).toEqual(a.hashKV(0));
    expect(a.hashKV(10).hash).not.toBe(a.hashKV(11).hash);
    expect(a.hashKV(0)).toMatchObject({ compactRevision: 8, revision: 11 });
    expect(() => a.hashKV(8)).toThrow(Errors.Compacted);
    expect(() => a.hashKV(12)).toThrow(Errors.FutureRev);
  });
});

describe("events", () => {
  it("lists changes by revision, never splitting one, with etcd's prev_kv", () => {
    const store = new MvccStore(openMemoryDb());
    history(store);
    const all = store.eventsBetween(2, 11, 1000, true);
    expect(all.done).toBe(true);
    expect(all.events.length).toBe(16);
    const page = store.eventsBetween(8, 11, 2, true);
    expect(page.events.map((e) => `${e.type}:${str(e.kv.key)}@${e.kv.modRevision}`)).toEqual(["DELETE:a@8", "DELETE:b@8", "DELETE:c@8", "DELETE:d@8"]);
    expect(page).toMatchObject({ nextRev: 9, done: false });
    expect(str(page.events[0]!.prevKv!.value)).toBe("2");
    const nine = store.eventsBetween(9, 9, 100, true).events;
    expect(nine.map((e) => e.type)).toEqual(["PUT", "DELETE", "PUT"]);
    // a create event has no prev_kv; the delete of a key created in the same revision has none either
    expect(nine[0]!.prevKv).toBeUndefined();
    expect(nine[1]!.prevKv).toBeUndefined();
    expect(nine[1]!.kv).toEqual({ key: k("a"), createRevision: 0, modRevision: 9, version: 0, value: new Uint8Array(0), lease: 0n });
    const eleven = store.eventsBetween(11, 11, 100, true).events[0]!;
    expect(eleven.prevKv).toMatchObject({ value: k("4"), modRevision: 9 });
    store.db.transaction(() => store.compact(10));
    expect(store.eventsBetween(11, 11, 100, true).events[0]!.prevKv).toMatchObject({ modRevision: 9 });
  });
});

it("reopens from its tables with the same revision and compaction state", () => {
  const db = openMemoryDb();
  const store = new MvccStore(db);
  history(store);
  db.transaction(() => store.compact(6));
  const again = new MvccStore(db);
  expect(again.rev()).toBe(11);
  expect(again.compactRev()).toBe(6);
  expect(snapshot(again, 6)).toEqual(snapshot(store, 6));
});
