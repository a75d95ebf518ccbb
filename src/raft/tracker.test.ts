import { describe, expect, it } from "vitest";
import { Changer, ConfChangeError, decodeConfChange, encodeConfChange, restoreConfig, changeConfig } from "./confchange.ts";
import { Inflights } from "./inflights.ts";
import { Progress } from "./progress.ts";
import { jointCommittedIndex, jointVoteResult, majorityCommittedIndex, majorityVoteResult } from "./quorum.ts";
import { ProgressTracker } from "./tracker.ts";
import type { ConfChange, ConfState } from "./types.ts";

const set = (...ids: string[]) => new Set(ids);
const acks = (m: Record<string, number>) => (id: string) => m[id];

describe("quorum", () => {
  it("majority committed index is the (n/2+1)-th largest ack", () => {
    expect(majorityCommittedIndex(set("a", "b", "c"), acks({ a: 5, b: 3, c: 1 }))).toBe(3);
    expect(majorityCommittedIndex(set("a", "b", "c", "d"), acks({ a: 5, b: 3, c: 1, d: 9 }))).toBe(3);
    expect(majorityCommittedIndex(set("a", "b", "c"), acks({ a: 5 }))).toBe(0);
    expect(majorityCommittedIndex(set(), acks({}))).toBe(Infinity);
  });

  it("majority votes win, lose or stay pending", () => {
    const v = (o: Record<string, boolean>) => new Map(Object.entries(o));
    expect(majorityVoteResult(set("a", "b", "c"), v({ a: true, b: true }))).toBe("VoteWon");
    expect(majorityVoteResult(set("a", "b", "c"), v({ a: true, b: false }))).toBe("VotePending");
    expect(majorityVoteResult(set("a", "b", "c"), v({ a: false, b: false }))).toBe("VoteLost");
    expect(majorityVoteResult(set("a", "b", "c", "d"), v({ a: true, b: true }))).toBe("VotePending");
  });

  it("joint configs need both halves", () => {
    const c: [Set<string>, Set<string>] = [set("a", "b", "c"), set("c", "d", "e")];
    expect(jointCommittedIndex(c, acks({ a: 9, b: 9, c: 2, d: 1, e: 2 }))).toBe(2);
    expect(jointCommittedIndex(c, acks({ a: 9, b: 9, c: 2, d: 1, e: 1 }))).toBe(1);
    const v = (o: Record<string, boolean>) => new Map(Object.entries(o));
    expect(jointVoteResult(c, v({ a: true, b: true }))).toBe("VotePending");
    expect(jointVoteResult(c, v({ a: true, b: true, d: true, e: true }))).toBe("VoteWon");
    expect(jointVoteResult(c, v({ a: true, b: true, d: false, e: false }))).toBe("VoteLost");
    expect(jointVoteResult([set("a"), set()], v({ a: true }))).toBe("VoteWon");
  });
});

describe("inflights", () => {
  it("bounds the window by count and frees by index", () => {
    const in_ = new Inflights(3, 0);
    in_.add(1, 10);
    in_.add(3, 10);
    in_.add(5, 10);
    expect(in_.full()).toBe(true);
    expect(() => in_.add(6, 1)).toThrow();
    in_.freeLE(3);
    expect(in_.count()).toBe(1);
    in_.add(7, 1);
    in_.add(9, 1);
    expect(in_.full()).toBe(true);
    in_.freeLE(0);
    expect(in_.count()).toBe(3);
    in_.freeLE(100);
    expect(in_.count()).toBe(0);
  });

  it("bounds the window by bytes (softly)", () => {
    const in_ = new Inflights(10, 100);
    in_.add(1, 60);
    expect(in_.full()).toBe(false);
    in_.add(2, 60);
    expect(in_.full()).toBe(true);
    in_.freeLE(1);
    expect(in_.full()).toBe(false);
  });
});

describe("progress", () => {
  it("probes one message at a time and replicates optimistically", () => {
    const pr = new Progress(5, new Inflights(2, 0), false);
    pr.sentEntries(2, 10);
    expect(pr.isPaused()).toBe(true); // a probe is outstanding
    expect(pr.maybeUpdate(6)).toBe(true);
    pr.becomeReplicate();
    expect(pr.next).toBe(7);
    pr.sentEntries(2, 10);
    pr.sentEntries(2, 10);
    expect(pr.next).toBe(11);
    expect(pr.isPaused()).toBe(true); // window full
    expect(pr.maybeUpdate(8)).toBe(true);
    pr.inflights.freeLE(8);
    expect(pr.isPaused()).toBe(false);
  });

  it("ignores stale rejections and backs off to the hint", () => {
    const pr = new Progress(10, new Inflights(4, 0), false);
    pr.match = 3;
    expect(pr.maybeDecrTo(5, 4)).toBe(false); // not next-1: stale while probing
    expect(pr.maybeDecrTo(9, 6)).toBe(true);
    expect(pr.next).toBe(7);
    pr.becomeReplicate();
    expect(pr.maybeDecrTo(2, 1)).toBe(false); // below match: stale
    expect(pr.maybeDecrTo(5, 1)).toBe(true);
    expect(pr.next).toBe(4);
  });

  it("snapshot state pauses until the snapshot lands", () => {
    const pr = new Progress(10, new Inflights(4, 0), false);
    pr.becomeSnapshot(20);
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect(pr.next).toBe(21);
  });
});

function tracker(cs: ConfState, last = 10): ProgressTracker {
  const t = new ProgressTracker(4, 0);
  const r = restoreConfig(t, last, cs);
  t.config = r.config;
  t.setProgress(r.progress);
  return t;
}
const cs = (voters: string[], learners: string[] = [], outgoing: string[] = [], learnersNext: string[] = [], autoLeave = false): ConfState => ({
  voters, learners, votersOutgoing: outgoing, learnersNext, autoLeave,
});
const cc = (transition: ConfChange["transition"], ...changes: [ConfChange["changes"][number]["type"], string][]): ConfChange => ({
  transition, changes: changes.map(([type, nodeId]) => ({ type, nodeId })), context: new Uint8Array(0),
});
function apply(t: ProgressTracker, change: ConfChange): ConfState {
  const r = changeConfig(Changer.of(t, 10), change);
  t.config = r.config;
  t.setProgress(r.progress);
  return t.confState();
}

describe("configuration changes", () => {
  it("simple changes alter at most one voter", () => {
    const t = tracker(cs(["a", "b", "c"]));
    expect(apply(t, cc("Auto", ["AddNode", "d"])).voters).toEqual(["a", "b", "c", "d"]);
    expect(apply(t, cc("Auto", ["AddLearnerNode", "e"])).learners).toEqual(["e"]);
    expect(apply(t, cc("Auto", ["AddNode", "e"]))).toMatchObject({ voters: ["a", "b", "c", "d", "e"], learners: [] });
    expect(() => changeConfig(Changer.of(t, 10), { ...cc("Auto"), changes: [] })).toThrow(ConfChangeError); // not joint
    expect(() => Changer.of(t, 10).simple([{ type: "RemoveNode", nodeId: "a" }, { type: "RemoveNode", nodeId: "b" }])).toThrow(/more than one voter/);
  });

  it("joint consensus enters and leaves, staging demoted voters as learners", () => {
    const t = tracker(cs(["a", "b", "c"]));
    const j = apply(t, cc("Auto", ["AddNode", "d"], ["AddLearnerNode", "c"]));
    expect(j).toEqual(cs(["a", "b", "d"], [], ["a", "b", "c"], ["c"], true));
    expect(() => apply(t, cc("Auto", ["AddNode", "e"]))).toThrow(/joint/);
    const left = apply(t, cc("Auto"));
    expect(left).toEqual(cs(["a", "b", "d"], ["c"]));
    expect(t.progress.get("c")!.isLearner).toBe(true);
  });

  it("explicit transitions do not auto-leave; removed voters keep progress until leaving", () => {
    const t = tracker(cs(["a", "b", "c"]));
    expect(apply(t, cc("Explicit", ["RemoveNode", "c"]))).toEqual(cs(["a", "b"], [], ["a", "b", "c"], [], false));
    expect(t.progress.has("c")).toBe(true);
    apply(t, cc("Auto"));
    expect(t.progress.has("c")).toBe(false);
  });

  it("refuses to remove every voter, and ignores blanked changes", () => {
    const t = tracker(cs(["a"]));
    expect(() => apply(t, cc("Auto", ["RemoveNode", "a"]))).toThrow(/removed all voters/);
    expect(apply(t, cc("Auto", ["RemoveNode", ""]))).toEqual(cs(["a"]));
  });

  it("restores joint configurations from a ConfState", () => {
    const want = cs(["a", "b", "d"], ["e"], ["a", "b", "c"], ["c"], true);
    expect(tracker(want).confState()).toEqual(want);
  });

  it("encodes conf changes; the empty change is empty bytes", () => {
    const c = { ...cc("Implicit", ["AddNode", "m4"], ["RemoveNode", "m1"]), context: new Uint8Array([1, 2]) };
    expect(decodeConfChange(encodeConfChange(c))).toEqual(c);
    expect(encodeConfChange(cc("Auto")).length).toBe(0);
    expect(decodeConfChange(new Uint8Array(0))).toEqual(cc("Auto"));
  });
});
