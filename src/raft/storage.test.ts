import { describe, expect, it } from "vitest";
import { ErrCompacted, ErrSnapOutOfDate, ErrUnavailable } from "./errors.ts";
import { MemoryStorage } from "./storage.ts";
import type { ConfState, Entry } from "./types.ts";

const e = (index: number, term: number, data = ""): Entry => ({ index, term, type: "Normal", data: new TextEncoder().encode(data) });
const cs: ConfState = { voters: ["m1"], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

function storage(): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot({ metadata: { index: 3, term: 3, confState: cs }, data: new Uint8Array(0) });
  s.append([e(4, 4), e(5, 5), e(6, 6)]);
  return s;
}

describe("MemoryStorage", () => {
  it("reports first/last index and terms, including the snapshot's", () => {
    const s = storage();
    expect(s.firstIndex()).toBe(4);
    expect(s.lastIndex()).toBe(6);
    expect(s.term(3)).toBe(3);
    expect(s.term(6)).toBe(6);
    expect(() => s.term(2)).toThrow(ErrCompacted);
    expect(() => s.term(7)).toThrow(ErrUnavailable);
  });

  it("returns entries in [lo, hi) limited by size, at least one", () => {
    const s = storage();
    expect(s.entries(4, 7, Infinity).map((x) => x.index)).toEqual([4, 5, 6]);
    expect(s.entries(4, 7, 0).map((x) => x.index)).toEqual([4]);
    expect(s.entries(4, 7, 32).map((x) => x.index)).toEqual([4, 5]);
    expect(() => s.entries(3, 5, Infinity)).toThrow(ErrCompacted);
  });

  it("append replaces a conflicting suffix and ignores compacted entries", () => {
    const s = storage();
    s.append([e(5, 7), e(6, 7), e(7, 7)]);
    expect(s.entries(4, 8, Infinity).map((x) => `${x.index}/${x.term}`)).toEqual(["4/4", "5/7", "6/7", "7/7"]);
    s.append([e(2, 1), e(3, 3), e(4, 9)]);
    expect(s.term(4)).toBe(9);
    expect(s.lastIndex()).toBe(4);
    expect(() => s.append([e(9, 9)])).toThrow(/missing log entry/);
  });

  it("compacts up to an index, keeping its term", () => {
    const s = storage();
    s.compact(5);
    expect(s.firstIndex()).toBe(6);
    expect(s.term(5)).toBe(5);
    expect(() => s.compact(5)).toThrow(ErrCompacted);
  });

  it("creates snapshots at applied indexes and refuses older ones", () => {
    const s = storage();
    const snap = s.createSnapshot(5, cs, new Uint8Array([1]));
    expect(snap.metadata).toEqual({ index: 5, term: 5, confState: cs });
    expect(() => s.createSnapshot(4, cs, new Uint8Array(0))).toThrow(ErrSnapOutOfDate);
    expect(s.initialState().confState).toEqual(cs);
  });

  it("applySnapshot replaces the log and refuses stale snapshots", () => {
    const s = storage();
    s.applySnapshot({ metadata: { index: 10, term: 8, confState: cs }, data: new Uint8Array(0) });
    expect(s.firstIndex()).toBe(11);
    expect(s.lastIndex()).toBe(10);
    expect(s.term(10)).toBe(8);
    expect(() => s.applySnapshot({ metadata: { index: 9, term: 8, confState: cs }, data: new Uint8Array(0) })).toThrow(ErrSnapOutOfDate);
  });

  it("keeps the hard state", () => {
    const s = new MemoryStorage();
    s.setHardState({ term: 2, vote: "m1", commit: 0 });
    expect(s.initialState().hardState).toEqual({ term: 2, vote: "m1", commit: 0 });
  });
});
