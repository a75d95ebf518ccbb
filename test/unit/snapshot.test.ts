// Log compaction and catch-up by snapshot over three (or four) EtcdNodes on node:sqlite with
// an in-process network (node_cluster.ts ships a MsgSnap's state in chunks as the member does).
import { describe, expect, it } from "vitest";
import { ErrCompacted, type Message } from "../../src/raft/index.ts";
import { WatchHub } from "../../src/server/watch/hub.ts";
import { newMemberRecord } from "../../src/server/membership.ts";
import { NodeCluster } from "./node_cluster.ts";

const enc = new TextEncoder();

/**
 * A follower of a fresh cluster (3 puts to w0..w2 applied) with a watch hub on its store and
 * one stream: watchFrom() creates a watcher of prefix "w", run() hands it what was applied.
 */
function watchedFollower() {
  const c = new NodeCluster({ node: { snapshotEntries: 20, catchUpEntries: 5 } });
  c.elect();
  c.write(3, "w");
  const victim = c.initial.find((id) => c.nodes.get(id) !== c.leader())!;
  const v = c.nodes.get(victim)!;
  const hub = new WatchHub(v.applier.mvcc);
  const s = hub.openStream();
  const watchFrom = (watchId: number, startRevision: number) =>
    hub.handle(s, {
      createRequest: {
        key: enc.encode("w"), rangeEnd: enc.encode("x"), startRevision, progressNotify: false, filters: [], prevKv: false, watchId, fragment: false,
      },
    });
  const run = () => {
    hub.onApplied();
    while (hub.step());
    return s.take().map((q) => q.response);
  };
  return { c, victim, v, watchFrom, run };
}

describe("raft log compaction", () => {
  it("drops the log behind applied - catchUpEntries once snapshotEntries pass, and restarts from it", () => {
    const c = new NodeCluster({ node: { snapshotEntries: 20, catchUpEntries: 5 } });
    c.elect();
    c.write(60, "k");
    for (const id of c.initial) {
      const n = c.nodes.get(id)!;
      const applied = n.applier.consistentIndex();
      const snapIndex = n.storage.snapshotIndex();
      expect(snapIndex).toBeGreaterThan(0);
      expect(applied - snapIndex).toBeLessThanOrEqual(20);
      const first = n.storage.firstIndex();
      expect(first).toBe(snapIndex - 5 + 1);
      // the boundary: the dummy's term is known, below it is compacted, entries from first on
      expect(n.storage.term(first - 1)).toBeGreaterThan(0);
      expect(() => n.storage.term(first - 2)).toThrow(ErrCompacted);
      expect(() => n.storage.entries(first - 1, first + 1, Infinity)).toThrow(ErrCompacted);
      expect(n.storage.entries(first, n.storage.lastIndex() + 1, Infinity).map((e) => e.index)[0]).toBe(first);
      expect(n.storage.snapshot().metadata.index).toBe(snapIndex);
      expect(n.storage.snapshot().metadata.confState.voters.sort()).toEqual(["m1", "m2", "m3"]);
    }
    const before = c.kv("m1");
    const meta = (id: string) => {
      const s = c.nodes.get(id)!.storage;
      return { first: s.firstIndex(), last: s.lastIndex(), dummy: s.term(s.firstIndex() - 1), snap: s.snapshot().metadata };
    };
    const metas = c.initial.map(meta);
    for (const id of c.initial) c.crash(id);
    for (const id of c.initial) c.restart(id);
    expect(c.initial.map(meta)).toEqual(metas);
    c.elect();
    c.write(30, "after");
    for (const id of c.initial) {
      expect(c.kv(id).length).toBe(14);
      expect(c.hash(id)).toBe(c.hash("m1"));
    }
    expect(before.length).toBe(7);
    expect(c.snapshotsSent.size).toBe(0);
  });

  it("catches up a crashed follower by snapshot once the log it needs is gone, then keeps applying", () => {
    const c = new NodeCluster({ node: { snapshotEntries: 20, catchUpEntries: 5 } });
    c.elect();
    c.write(5, "a");
    expect(c.leader()!.captureSnapshot(512).chunks.length).toBeGreaterThan(1);
    const victim = c.initial.find((id) => c.nodes.get(id) !== c.leader())!;
    c.crash(victim);
    c.write(80, "b");
    const leader = c.leader()!;
    expect(leader.storage.firstIndex()).toBeGreaterThan(c.dbs.size + 10);
    c.restart(victim);
    c.settle(60);
    expect(c.snapshotsSent.get(victim) ?? 0).toBeGreaterThanOrEqual(1);
    expect(c.snapshotsInstalled.get(victim) ?? 0).toBeGreaterThanOrEqual(1);
    const v = c.nodes.get(victim)!;
    expect(v.applier.consistentIndex()).toBe(leader.applier.consistentIndex());
    expect(c.kv(victim)).toEqual(c.kv(leader.id));
    expect(c.hash(victim)).toBe(c.hash(leader.id));
    expect(v.membership.list().map((m) => m.node).sort()).toEqual(["m1", "m2", "m3"]);
    // it keeps applying from the log afterwards, and survives a restart
    c.write(10, "c");
    expect(c.kv(victim)).toEqual(c.kv(c.leader()!.id));
    c.crash(victim);
    c.restart(victim);
    c.write(3, "d");
    expect(c.hash(victim)).toBe(c.hash(c.leader()!.id));
  });

  it("catches up a learner added after compaction by snapshot", () => {
    const c = new NodeCluster({ node: { snapshotEntries: 20, catchUpEntries: 5 } });
    c.elect();
    c.write(60, "k");
    expect(c.leader()!.storage.firstIndex()).toBeGreaterThan(1);
    const naming = c.leader()!.membership.naming;
    c.start("m4");
    let applied = false;
    const req = 424242;
    expect(c.leader()!.proposeMemberChange({ kind: "add", req, member: newMemberRecord(naming, "m4", [naming.peerUrlOf("m4")], true) })).toBeNull();
    for (let i = 0; i < 80; i++) c.round(i % 2 === 0);
    applied = c.nodes.get("m4")!.applier.consistentIndex() === c.leader()!.applier.consistentIndex();
    expect(applied).toBe(true);
    expect(c.snapshotsInstalled.get("m4")).toBe(1);
    expect(c.kv("m4")).toEqual(c.kv(c.leader()!.id));
    expect(c.nodes.get("m4")!.members().learners).toEqual(["m4"]);
    c.write(5, "z");
    expect(c.hash("m4")).toBe(c.hash(c.leader()!.id));
  });

  it("cancels a watcher whose next revision the installed snapshot compacted away, with compact_revision", () => {
    const { c, victim, v, watchFrom, run } = watchedFollower();
    const revBefore = v.applier.revision();
    watchFrom(1, 0);
    expect(run().map((r) => [r.watchId, r.created])).toEqual([[1, true]]);

    c.isolated.add(victim);
    c.write(40, "w");
    const compactAt = c.leader()!.applier.revision() - 3;
    expect(c.leader()!.propose({ op: "compaction", id: c.nextReq++, request: { revision: compactAt, physical: false } })).toBeNull();
    c.settle(6);
    c.write(30, "w");
    c.isolated.delete(victim);
    c.settle(60);
    expect(c.snapshotsInstalled.get(victim)).toBe(1);
    expect(v.applier.mvcc.compactRev()).toBe(compactAt);
    // the watcher (next revision revBefore + 1, now compacted) is canceled, nothing skipped silently
    const out = run();
    expect(out.map((r) => ({ id: r.watchId, canceled: r.canceled, compact: r.compactRevision, events: r.events.length }))).toEqual([
      { id: 1, canceled: true, compact: compactAt, events: 0 },
    ]);
    expect(revBefore + 1).toBeLessThan(compactAt);
    // a watcher from the compaction point on gets every event since
    watchFrom(2, compactAt);
    const events = run().flatMap((r) => r.events.map((e) => e.kv.modRevision));
    expect(events).toEqual(Array.from({ length: v.applier.revision() - compactAt + 1 }, (_, i) => compactAt + i));
  });

  it("cancels a watcher whose next revision is the snapshot's compaction revision (its tombstone may be gone)", () => {
    const { c, victim, v, watchFrom, run } = watchedFollower();
    watchFrom(1, 0);
    expect(run().map((r) => [r.watchId, r.created])).toEqual([[1, true]]);
    const revBefore = v.applier.revision();

    c.isolated.add(victim);
    const leader = c.leader()!;
    const del = { key: enc.encode("w0"), rangeEnd: new Uint8Array(0), prevKv: false };
    expect(leader.propose({ op: "deleteRange", id: c.nextReq++, request: del })).toBeNull();
    c.settle(6);
    expect(leader.applier.revision()).toBe(revBefore + 1);
    // the compaction removes the tombstone at its own revision
    expect(leader.propose({ op: "compaction", id: c.nextReq++, request: { revision: revBefore + 1, physical: false } })).toBeNull();
    c.settle(6);
    c.write(40, "w");
    c.isolated.delete(victim);
    c.settle(60);
    expect(c.snapshotsInstalled.get(victim)).toBe(1);
    expect(v.applier.mvcc.eventsBetween(revBefore + 1, revBefore + 1, 10).events).toEqual([]);
    const out = run();
    expect(out.map((r) => ({ id: r.watchId, canceled: r.canceled, compact: r.compactRevision, events: r.events.length }))).toEqual([
      { id: 1, canceled: true, compact: revBefore + 1, events: 0 },
    ]);
  });

  it("stages chunks durably: duplicates are harmless, stale or out-of-order chunks refused, old state intact until install", () => {
    const c = new NodeCluster({ node: { snapshotEntries: 20, catchUpEntries: 5 }, chunkBytes: 256 });
    c.elect();
    const victim = c.initial.find((id) => c.nodes.get(id) !== c.leader())!;
    c.isolated.add(victim);
    c.write(60, "k");
    const leader = c.leader()!;
    const snap = leader.captureSnapshot(256);
    expect(snap.chunks.length).toBeGreaterThan(3);
    const before = c.kv(victim);
    let v = c.nodes.get(victim)!;
    expect(v.stageSnapshotChunk("x1", 0, snap.chunks[0]!)).toBe(true);
    expect(v.stageSnapshotChunk("x1", 0 + 2, snap.chunks[2]!)).toBe(false); // skips ahead
    expect(v.stageSnapshotChunk("x1", 1, snap.chunks[1]!)).toBe(true);
    expect(v.stageSnapshotChunk("x1", 1, snap.chunks[1]!)).toBe(true); // duplicate: ignored
    expect(v.stageSnapshotChunk("old", 2, snap.chunks[2]!)).toBe(false); // another transfer
    // a restart mid-transfer: staged chunks survive, the live state is untouched
    c.crash(victim);
    c.restart(victim);
    v = c.nodes.get(victim)!;
    expect(c.kv(victim)).toEqual(before);
    const msg = { type: "MsgSnap", from: leader.id, to: victim, term: leader.term(), logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: null,
      snapshot: { metadata: snap.metadata, data: new Uint8Array(0) } } as Message;
    expect(v.receiveSnapshot("x1", snap.chunks.length, msg)).toBe(false); // incomplete
    for (let i = 2; i < snap.chunks.length; i++) expect(v.stageSnapshotChunk("x1", i, snap.chunks[i]!)).toBe(true);
    expect(c.kv(victim)).toEqual(before);
    expect(v.receiveSnapshot("x1", snap.chunks.length, msg)).toBe(true);
    const out = v.process(c.now);
    expect(out.snapshotInstalled).toBe(true);
    expect(v.applier.consistentIndex()).toBe(snap.metadata.index);
    expect(c.kv(victim)).toEqual(c.kv(leader.id));
    expect(v.storage.firstIndex()).toBe(snap.metadata.index + 1);
    c.isolated.delete(victim);
    c.write(3, "after");
    expect(c.hash(victim)).toBe(c.hash(c.leader()!.id));
  });
});
