// Unit tests per raft mechanism, on an in-process network of RawNodes (test-util.ts). Each
// test states the rule it checks; many follow the Raft paper and thesis sections.

import { describe, expect, it } from "vitest";
import { prng } from "../util/prng.ts";
import { ErrProposalDropped, ErrStepLocalMsg, ErrStepPeerNotFound } from "./errors.ts";
import { RawNode, confChangeOf } from "./raw-node.ts";
import { MemoryStorage } from "./storage.ts";
import { Network, enc } from "./test-util.ts";
import { newMessage, type ConfChange, type Message } from "./types.ts";

const three = ["m1", "m2", "m3"];
const five = ["m1", "m2", "m3", "m4", "m5"];

function cluster(ids = three, opts: ConstructorParameters<typeof Network>[0] = 1, nodeOpts = {}): Network {
  const nt = new Network(opts);
  nt.add(ids, ids, nodeOpts);
  return nt;
}

function elect(nt: Network, id: string): void {
  nt.get(id).node.campaign();
  nt.stabilize();
  expect(nt.leader()).toBe(id);
}

const term = (nt: Network, id: string) => nt.get(id).node.raft.term;
const role = (nt: Network, id: string) => nt.get(id).node.raft.state;
const cc = (transition: ConfChange["transition"], ...changes: [ConfChange["changes"][number]["type"], string][]): ConfChange => ({
  transition, changes: changes.map(([type, nodeId]) => ({ type, nodeId })), context: new Uint8Array(0),
});

describe("leader election (§5.2)", () => {
  it("elects a leader, which appends a no-op of its term and commits it", () => {
    const nt = cluster();
    elect(nt, "m1");
    const r = nt.get("m1").node.raft;
    expect(r.term).toBe(2);
    const last = r.raftLog.lastIndex();
    expect(r.raftLog.term(last)).toBe(2);
    expect(r.raftLog.committed).toBe(last);
    for (const id of three) expect(nt.get(id).applied.at(-1)).toMatchObject({ term: 2, type: "Normal", data: new Uint8Array(0) });
  });

  it("campaigns after a randomized timeout in [election, 2*election) drawn from the injected rng", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const s = new MemoryStorage();
      s.applySnapshot({ metadata: { index: 1, term: 1, confState: { voters: three, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } }, data: new Uint8Array(0) });
      const mk = () => new RawNode({ id: "m1", electionTicks: 10, preVote: false, rng: prng(seed) }, s);
      const a = mk();
      const b = mk();
      let ticks = 0;
      while (a.raft.state === "Follower") {
        a.tick();
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
      for (let i = 0; i < ticks - 1; i++) b.tick();
      expect(b.raft.state).toBe("Follower");
      b.tick();
      expect(b.raft.state).toBe("Candidate"); // same seed, same timeout
    }
  });

  it("grants at most one vote per term, persisted before the response is sent", () => {
    const nt = cluster(three, 1, { preVote: false });
    nt.get("m2").node.campaign();
    nt.processReady("m2");
    nt.get("m3").node.campaign();
    nt.processReady("m3");
    // m1 receives m2's then m3's request for term 2.
    nt.deliver("m1", (m) => m.from === "m2");
    nt.deliver("m1", (m) => m.from === "m3");
    const rd = nt.get("m1").node.ready();
    expect(rd.hardState).toMatchObject({ term: 2, vote: "m2" });
    const resps = rd.messages.filter((m) => m.type === "MsgVoteResp");
    expect(resps.map((m) => [m.to, m.reject])).toEqual([["m2", false], ["m3", true]]);
  });

  it("rejects candidates whose log is less up to date (§5.4.1)", () => {
    const nt = cluster();
    elect(nt, "m1");
    nt.isolate("m3");
    nt.get("m1").node.propose(enc("x"));
    nt.stabilize();
    nt.heal();
    // m3 lacks "x": m1 and m2 refuse it.
    nt.get("m3").node.campaign();
    nt.stabilize();
    expect(nt.leader()).not.toBe("m3");
    nt.tickElection("m2");
    nt.stabilize();
    expect(nt.leader()).toBe("m2");
  });

  it("a candidate that hears from a leader of its term becomes follower", () => {
    const nt = cluster(three, 1, { preVote: false });
    elect(nt, "m1");
    const r3 = nt.get("m3").node.raft;
    r3.becomeCandidate(); // term 3, like a split-vote loser
    nt.get("m1").node.raft.becomeFollower(3, "");
    nt.get("m1").node.raft.becomeCandidate(); // now term 4
    r3.becomeFollower(4, "");
    r3.becomeCandidate(); // term 5
    expect(r3.term).toBe(5);
    const msg = newMessage({ type: "MsgApp", from: "m2", to: "m3", term: 5, index: 0, logTerm: 0 });
    nt.get("m3").node.step(msg);
    expect(r3.state).toBe("Follower");
    expect(r3.lead).toBe("m2");
  });

  it("splits votes end in a new term with new randomized timeouts", () => {
    const nt = cluster(three, 7, { preVote: false });
    nt.get("m1").node.campaign();
    nt.get("m2").node.campaign();
    nt.get("m3").node.campaign();
    nt.stabilize();
    expect(nt.leader()).toBeNull();
    for (let i = 0; i < 100 && nt.leader() === null; i++) {
      for (const id of three) nt.tick(id);
      nt.stabilize();
    }
    expect(nt.leader()).not.toBeNull();
    expect(term(nt, nt.leader()!)).toBeGreaterThan(2);
  });
});

describe("PreVote (§9.6) and CheckQuorum (§6.2)", () => {
  it("a rejoining partitioned member does not disrupt a healthy leader", () => {
    const nt = cluster();
    elect(nt, "m1");
    nt.isolate("m3");
    for (let i = 0; i < 5; i++) {
      nt.tickElection("m3");
      nt.stabilize();
    }
    expect(term(nt, "m3")).toBe(2); // pre-votes failed: the term did not move
    expect(role(nt, "m3")).toBe("PreCandidate");
    nt.heal();
    nt.tick("m1");
    nt.stabilize();
    expect(nt.leader()).toBe("m1");
    expect(term(nt, "m1")).toBe(2);
    expect(role(nt, "m3")).toBe("Follower");
  });

  it("without PreVote the same member forces a new election when it returns", () => {
    const nt = cluster(three, 1, { preVote: false, checkQuorum: false });
    elect(nt, "m1");
    nt.isolate("m3");
    for (let i = 0; i < 3; i++) {
      nt.tickElection("m3");
      nt.stabilize();
    }
    expect(term(nt, "m3")).toBeGreaterThan(2);
    nt.heal();
    nt.tick("m1");
    nt.stabilize();
    nt.get("m3").node.campaign();
    nt.stabilize();
    expect(term(nt, "m1")).toBeGreaterThan(2); // the leader was deposed
  });

  it("a leader that cannot hear a majority steps down after an election timeout", () => {
    const nt = cluster();
    elect(nt, "m1");
    nt.isolate("m1");
    nt.tickElection("m1");
    nt.stabilize();
    expect(role(nt, "m1")).toBe("Follower");
    expect(nt.get("m1").node.propose(enc("x"))).toBe(ErrProposalDropped);
  });

  it("followers that hear from a leader ignore vote requests (leader lease)", () => {
    const nt = cluster(three, 1, { preVote: false });
    elect(nt, "m1");
    nt.get("m2").node.campaign(); // no pre-vote: goes straight to term 3
    nt.stabilize();
    expect(role(nt, "m1")).toBe("Leader");
    expect(term(nt, "m1")).toBe(2);
    expect(term(nt, "m3")).toBe(2);
  });

  it("a stale leader learns the new term from a follower's response and steps down", () => {
    const nt = cluster();
    elect(nt, "m1");
    nt.isolate("m1");
    nt.expireLease("m3");
    nt.tickElection("m2");
    nt.stabilize();
    const lead = nt.leader();
    expect(lead).toBe("m2");
    nt.heal();
    nt.get("m1").node.raft.bcastHeartbeat(); // the old leader, still believing
    nt.stabilize();
    expect(role(nt, "m1")).toBe("Follower");
    expect(term(nt, "m1")).toBe(term(nt, lead!));
  });
});

describe("stale terms are answered, never silently dropped (liveness, found by the simulator)", () => {
  it("a higher-term node answers a stale leader's heartbeat even without PreVote and CheckQuorum", () => {
    const nt = cluster(three, 1, { preVote: false, checkQuorum: false });
    elect(nt, "m1");
    nt.get("m3").node.raft.becomeFollower(10, ""); // e.g. it campaigned alone for a while
    nt.get("m1").node.raft.bcastHeartbeat();
    nt.stabilize();
    const resp = nt.sent.filter((m) => m.from === "m3" && m.type === "MsgAppResp" && m.term === 10);
    expect(resp.length).toBeGreaterThan(0);
    expect(term(nt, "m1")).toBe(10);
    expect(role(nt, "m1")).toBe("Follower");
  });

  it("a stale-term vote request is rejected with the current term, so the candidate catches up", () => {
    const nt = cluster(three, 1, { preVote: false });
    nt.get("m2").node.raft.becomeFollower(10, "");
    nt.get("m1").node.campaign(); // term 2
    nt.stabilize();
    const rej = nt.sent.find((m) => m.from === "m2" && m.type === "MsgVoteResp");
    expect(rej).toMatchObject({ reject: true, term: 10 });
    expect(term(nt, "m1")).toBeGreaterThanOrEqual(10);
    // Now its next campaign is for a term m2 accepts.
    nt.get("m1").node.campaign();
    nt.stabilize();
    expect(nt.leader()).not.toBeNull();
  });
});

describe("log replication (§5.3)", () => {
  it("replicates in batches bounded by maxSizePerMsgBytes", () => {
    const nt = cluster(three, 1, { maxSizePerMsgBytes: 50 });
    elect(nt, "m1");
    nt.isolate("m3");
    for (let i = 0; i < 10; i++) nt.get("m1").node.propose(enc(`value-${i}`));
    nt.stabilize();
    nt.heal();
    const sizes: number[] = [];
    for (let i = 0; i < 50 && nt.appliedData("m3").length < 10; i++) {
      nt.tick("m1");
      for (const id of three) nt.processReady(id);
      for (const m of nt.queue) if (m.type === "MsgApp" && m.to === "m3" && m.entries.length) sizes.push(m.entries.length);
      nt.stabilize();
    }
    expect(nt.appliedData("m3")).toHaveLength(10);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2); // 7 data bytes + 16 overhead each
  });

  it("pipelines at most maxInflightMsgs appends to a replicating follower", () => {
    const nt = cluster(three, 1, { maxInflightMsgs: 3, maxSizePerMsgBytes: 1 });
    elect(nt, "m1");
    for (let i = 0; i < 10; i++) nt.get("m1").node.propose(enc(`v${i}`));
    nt.processReady("m1");
    const apps = nt.queue.filter((m) => m.type === "MsgApp" && m.to === "m2" && m.entries.length > 0);
    expect(apps.length).toBe(3);
    expect(nt.get("m1").node.status().progress["m2"]).toMatchObject({ state: "StateReplicate", inflight: 3, paused: true });
    nt.stabilize();
    expect(nt.appliedData("m2")).toHaveLength(10);
  });

  it("repairs a divergent follower, backing off one term at a time", () => {
    const nt = cluster(five, 3);
    elect(nt, "m1");
    // m1 appends entries in term 2 that reach only m2, then loses leadership.
    for (const id of ["m3", "m4", "m5"]) {
      nt.cut.add(`m1->${id}`);
      nt.cut.add(`${id}->m1`);
    }
    for (let i = 0; i < 20; i++) nt.get("m1").node.propose(enc(`stale${i}`));
    nt.stabilize();
    expect(nt.get("m2").node.raft.raftLog.lastIndex()).toBe(nt.get("m1").node.raft.raftLog.lastIndex());
    // m3 leads term 3 and commits other entries with m4, m5.
    nt.heal();
    nt.isolate("m1");
    nt.isolate("m2");
    nt.expireLease("m4", "m5");
    nt.tickElection("m3");
    nt.stabilize();
    expect(nt.leader()).toBe("m3");
    for (let i = 0; i < 5; i++) nt.get("m3").node.propose(enc(`fresh${i}`));
    nt.stabilize();
    nt.heal();
    // m1 and m2 rejoin with 20 conflicting entries each: repairing them must not take a
    // round trip per entry.
    const before = nt.sent.length;
    for (let i = 0; i < 30; i++) {
      nt.tick("m3");
      nt.stabilize();
    }
    const rejections = nt.sent.slice(before).filter((m) => m.type === "MsgAppResp" && m.reject && m.to === "m3");
    for (const id of ["m1", "m2"]) {
      expect(nt.appliedData(id)).toEqual(nt.appliedData("m3"));
      expect(nt.appliedData(id).some((d) => d.startsWith("stale"))).toBe(false);
      expect(rejections.filter((m) => m.from === id).length).toBeLessThanOrEqual(2);
    }
  });

  it("does not truncate the log on a stale, shorter append", () => {
    const nt = cluster();
    elect(nt, "m1");
    const r2 = nt.get("m2").node.raft;
    const old = newMessage({ type: "MsgApp", from: "m1", to: "m2", term: 2, index: 1, logTerm: 1, entries: [], commit: 1 });
    nt.get("m1").node.propose(enc("a"));
    nt.get("m1").node.propose(enc("b"));
    nt.stabilize();
    const last = r2.raftLog.lastIndex();
    nt.get("m2").node.step(old); // delayed heartbeat-like append
    nt.stabilize();
    expect(r2.raftLog.lastIndex()).toBe(last);
  });

  it("commits entries of earlier terms only through an entry of the current term (§5.4.2, Figure 8)", () => {
    const nt = new Network(1);
    const conf = { voters: three, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    for (const id of three) {
      const s = new MemoryStorage();
      s.applySnapshot({ metadata: { index: 1, term: 1, confState: conf }, data: new Uint8Array(0) });
      // m1 holds an entry of term 2 that never reached the others.
      if (id === "m1") s.append([{ index: 2, term: 2, type: "Normal", data: enc("old") }]);
      s.setHardState({ term: 2, vote: "", commit: 1 });
      nt.addWithStorage(id, s, { preVote: false, maxSizePerMsgBytes: 1 });
    }
    nt.isolate("m2");
    nt.get("m1").node.campaign();
    const r1 = nt.get("m1").node.raft;
    // Hold back the no-op of term 3 from m3 once m3 could accept it (before that, m3 rejects
    // the leader's first append and the leader backs off to send index 2 alone).
    const carriesNoop = (m: Message) =>
      m.type === "MsgApp" && m.entries.some((e) => e.index === 3) && nt.get(m.to).node.raft.raftLog.term(2) === 2;
    for (let i = 0; i < 20; i++) {
      for (const id of three) nt.processReady(id);
      nt.deliver(undefined, (m) => !carriesNoop(m));
      // Index 2 (term 2) is on m1 and m3, a majority, but only an entry of term 3 may commit it.
      expect(r1.raftLog.committed).toBe(1);
    }
    expect(r1.state).toBe("Leader");
    expect(r1.term).toBe(3);
    expect(nt.get("m3").node.raft.raftLog.term(2)).toBe(2);
    expect(r1.trk.progress.get("m3")!.match).toBe(2);
    nt.stabilize(); // the no-op of term 3 arrives: both commit
    expect(r1.raftLog.committed).toBe(3);
    expect(nt.appliedData("m3")).toEqual(["old"]);
  });
});

describe("ReadIndex (§6.4)", () => {
  it("serves a read index after a heartbeat round confirms leadership", () => {
    const nt = cluster();
    elect(nt, "m1");
    nt.get("m1").node.propose(enc("x"));
    nt.stabilize();
    const commit = nt.get("m1").node.raft.raftLog.committed;
    nt.get("m1").node.readIndex(enc("r1"));
    nt.processReady("m1");
    expect(nt.get("m1").readStates).toHaveLength(0); // waits for acks
    nt.stabilize();
    expect(nt.get("m1").readStates).toEqual([{ index: commit, requestCtx: enc("r1") }]);
  });

  it("an isolated leader never confirms a read", () => {
    const nt = cluster(three, 1, { checkQuorum: false });
    elect(nt, "m1");
    nt.isolate("m1");
    nt.get("m1").node.readIndex(enc("r1"));
    for (let i = 0; i < 5; i++) {
      nt.tick("m1");
      nt.stabilize();
    }
    expect(nt.get("m1").readStates).toHaveLength(0);
  });

  it("postpones reads until the leader commits an entry of its own term", () => {
    const nt = cluster(three, 1, { preVote: false });
    nt.get("m1").node.campaign();
    // Deliver votes but hold back the append of the no-op.
    nt.processReady("m1");
    nt.deliver();
    nt.processReady("m2");
    nt.processReady("m3");
    nt.deliver("m1");
    nt.processReady("m1");
    expect(role(nt, "m1")).toBe("Leader");
    nt.get("m1").node.readIndex(enc("early"));
    expect(nt.get("m1").node.raft.pendingReadIndexMessages).toHaveLength(1);
    nt.stabilize();
    const r1 = nt.get("m1").node.raft;
    expect(nt.get("m1").readStates).toEqual([{ index: r1.raftLog.committed, requestCtx: enc("early") }]);
    expect(r1.raftLog.term(r1.raftLog.committed)).toBe(r1.term);
  });

  it("forwards a follower's read to the leader and returns a read state there", () => {
    const nt = cluster();
    elect(nt, "m1");
    nt.get("m3").node.readIndex(enc("f"));
    nt.stabilize();
    expect(nt.get("m3").readStates).toEqual([{ index: nt.get("m1").node.raft.raftLog.committed, requestCtx: enc("f") }]);
  });

  it("drops a read when no leader is known (the caller times out)", () => {
    const nt = cluster();
    nt.get("m2").node.readIndex(enc("x"));
    nt.stabilize();
    expect(nt.get("m2").readStates).toHaveLength(0);
  });

  it("a single-voter leader answers at once", () => {
    const nt = new Network();
    nt.add(["m1"], ["m1"]);
    nt.get("m1").node.campaign();
    nt.stabilize();
    nt.get("m1").node.readIndex(enc("solo"));
    nt.stabilize();
    expect(nt.get("m1").readStates.map((r) => r.index)).toEqual([nt.get("m1").node.raft.raftLog.committed]);
  });
});

describe("proposals", () => {
  it("are dropped with ErrProposalDropped when there is no leader", () => {
    const nt = cluster();
    expect(nt.get("m1").node.propose(enc("x"))).toBe(ErrProposalDropped);
  });

  it("are forwarded from followers to the leader", () => {
    const nt = cluster();
    elect(nt, "m1");
    expect(nt.get("m2").node.propose(enc("via-m2"))).toBeNull();
    nt.stabilize();
    expect(nt.appliedData("m1")).toEqual(["via-m2"]);
  });

  it("are dropped once the uncommitted tail exceeds its bound, and accepted again after commit", () => {
    const nt = cluster(three, 1, { maxUncommittedEntriesBytes: 10 });
    elect(nt, "m1");
    nt.isolate("m1");
    const n1 = nt.get("m1").node;
    expect(n1.propose(enc("12345678"))).toBeNull();
    expect(n1.propose(enc("abc"))).toBe(ErrProposalDropped);
    nt.heal();
    nt.stabilize();
    nt.tick("m1");
    nt.stabilize();
    expect(n1.propose(enc("abc"))).toBeNull();
  });

  it("step refuses local message types and responses from unknown peers", () => {
    const nt = cluster();
    expect(nt.get("m1").node.step(newMessage({ type: "MsgHup", from: "m2", to: "m1" }))).toBe(ErrStepLocalMsg);
    expect(nt.get("m1").node.step(newMessage({ type: "MsgAppResp", from: "m9", to: "m1", term: 1 }))).toBe(ErrStepPeerNotFound);
  });
});

describe("snapshots and compaction (§7)", () => {
  it("catches up a follower that is behind the compacted log with a snapshot", () => {
    const nt = cluster();
    elect(nt, "m1");
    nt.isolate("m3");
    for (let i = 0; i < 10; i++) nt.get("m1").node.propose(enc(`v${i}`));
    nt.stabilize();
    const s1 = nt.get("m1");
    const applied = s1.node.raft.raftLog.applied;
    s1.storage.createSnapshot(applied, s1.confState, enc("state"));
    s1.storage.compact(applied - 2); // keep a short tail for followers slightly behind
    nt.heal();
    const before = nt.sent.length;
    for (let i = 0; i < 10; i++) {
      nt.tick("m1");
      nt.stabilize();
      const st = s1.node.status().progress["m3"];
      if (st?.state === "StateSnapshot") {
        expect(st.paused).toBe(true);
        s1.node.reportSnapshot("m3", "finish");
      }
    }
    const snaps: Message[] = nt.sent.slice(before).filter((m) => m.type === "MsgSnap");
    expect(snaps).toHaveLength(1);
    expect(snaps[0]!.snapshot!.metadata.index).toBe(applied);
    expect(nt.get("m3").storage.snapshot().data).toEqual(enc("state"));
    expect(s1.node.status().progress["m3"]).toMatchObject({ state: "StateReplicate", match: s1.node.raft.raftLog.lastIndex() });
    nt.get("m1").node.propose(enc("after"));
    nt.stabilize();
    expect(nt.appliedData("m3")).toEqual(["after"]);
  });

  it("a failed snapshot transfer makes the leader probe (and retry) later", () => {
    const nt = cluster();
    elect(nt, "m1");
    nt.isolate("m3");
    for (let i = 0; i < 5; i++) nt.get("m1").node.propose(enc(`v${i}`));
    nt.stabilize();
    const s1 = nt.get("m1");
    const applied = s1.node.raft.raftLog.applied;
    s1.storage.createSnapshot(applied, s1.confState, enc("s"));
    s1.storage.compact(applied);
    nt.heal();
    nt.ignored.add("MsgSnap");
    nt.tick("m1");
    nt.stabilize();
    expect(s1.node.status().progress["m3"]!.state).toBe("StateSnapshot");
    s1.node.reportSnapshot("m3", "failure");
    expect(s1.node.status().progress["m3"]).toMatchObject({ state: "StateProbe", pendingSnapshot: 0, paused: true });
    nt.heal();
    for (let i = 0; i < 5; i++) {
      nt.tick("m1");
      nt.stabilize();
      if (s1.node.status().progress["m3"]!.state === "StateSnapshot") s1.node.reportSnapshot("m3", "finish");
    }
    expect(nt.get("m3").node.raft.raftLog.committed).toBe(s1.node.raft.raftLog.committed);
  });

  it("restarts from storage: term, vote, commit and configuration survive; applied is respected", () => {
    const nt = cluster();
    elect(nt, "m1");
    nt.get("m1").node.propose(enc("a"));
    nt.stabilize();
    const t2 = nt.get("m2");
    const hs = t2.storage.hardState();
    const restarted = new RawNode({ id: "m2", rng: prng(9), applied: hs.commit }, t2.storage);
    expect(restarted.raft.term).toBe(hs.term);
    expect(restarted.raft.vote).toBe(hs.vote);
    expect(restarted.raft.raftLog.committed).toBe(hs.commit);
    expect(restarted.status().config.voters).toEqual(three);
    expect(restarted.hasReady()).toBe(false); // nothing re-applied
  });
});

describe("snapshot while applying (found by the simulator)", () => {
  it("a follower does not restore a snapshot while it still applies committed conf changes", () => {
    const nt = cluster();
    nt.add(["m4"], []);
    elect(nt, "m1");
    // A joint change, left automatically: two conf change entries.
    nt.get("m1").node.proposeConfChange(cc("Auto", ["AddNode", "m4"], ["RemoveNode", "m3"]));
    nt.isolate("m2");
    nt.stabilize();
    nt.tick("m1");
    nt.stabilize();
    expect(nt.get("m1").confState.votersOutgoing).toEqual([]);
    // m2 gets the entries and commit index in one append, takes the Ready …
    nt.heal();
    const s1 = nt.get("m1");
    const n2 = nt.get("m2").node;
    nt.tick("m1");
    let rd = null;
    for (let i = 0; i < 10 && !rd; i++) {
      for (const id of ["m1", "m3", "m4"]) nt.processReady(id);
      nt.deliver();
      if (!n2.hasReady()) continue;
      const r = n2.ready();
      if (r.committedEntries.some((e) => e.type === "ConfChange")) {
        rd = r;
      } else {
        nt.get("m2").storage.append(r.entries);
        if (r.hardState) nt.get("m2").storage.setHardState(r.hardState);
        for (const m of r.messages) nt.send(m);
        n2.advance(r);
      }
    }
    if (!rd) throw new Error("m2 never got the committed conf changes");
    expect(rd.committedEntries.filter((e) => e.type === "ConfChange")).toHaveLength(2);
    // … and before handling it, a snapshot newer than its commit index arrives.
    nt.isolate("m2");
    s1.node.propose(enc("more"));
    nt.stabilize();
    nt.heal();
    const applied = s1.node.raft.raftLog.applied;
    expect(applied).toBeGreaterThan(n2.raft.raftLog.committed);
    const snap = { metadata: { index: applied, term: s1.node.raft.raftLog.term(applied)!, confState: s1.confState }, data: new Uint8Array(0) };
    n2.step(newMessage({ type: "MsgSnap", from: "m1", to: "m2", term: s1.node.raft.term, snapshot: snap }));
    expect(n2.raft.raftLog.committed).toBeLessThan(applied); // ignored for now
    // The entries still apply to the configuration they were committed under.
    nt.get("m2").storage.append(rd.entries);
    if (rd.hardState) nt.get("m2").storage.setHardState(rd.hardState);
    for (const e of rd.committedEntries) {
      if (e.type === "ConfChange") nt.get("m2").confState = n2.applyConfChange(confChangeOf(e));
    }
    n2.advance(rd);
    expect(nt.get("m2").confState).toEqual(s1.confState);
    nt.stabilize();
    expect(n2.raft.raftLog.applied).toBe(s1.node.raft.raftLog.applied);
  });
});

describe("membership changes (§4)", () => {
  function withSpare(): Network {
    const nt = cluster();
    nt.add(["m4"], [], {}); // empty: learns everything from the leader
    elect(nt, "m1");
    return nt;
  }

  it("adds a learner, which replicates but neither votes in quorums nor campaigns, then promotes it", () => {
    const nt = withSpare();
    nt.get("m1").node.proposeConfChange(cc("Auto", ["AddLearnerNode", "m4"]));
    nt.stabilize();
    nt.tick("m1");
    nt.stabilize();
    expect(nt.get("m1").confState.learners).toEqual(["m4"]);
    nt.get("m1").node.propose(enc("x"));
    nt.stabilize();
    expect(nt.appliedData("m4")).toEqual(["x"]);
    nt.tickElection("m4");
    expect(role(nt, "m4")).toBe("Follower");
    // Quorum is still 2 of 3: with m2, m3 down, nothing commits even though m4 acks.
    nt.isolate("m2");
    nt.isolate("m3");
    const before = nt.get("m1").node.raft.raftLog.committed;
    nt.get("m1").node.propose(enc("y"));
    nt.stabilize();
    expect(nt.get("m1").node.raft.raftLog.committed).toBe(before);
    nt.heal();
    nt.stabilize();
    nt.get("m1").node.proposeConfChange(cc("Auto", ["AddNode", "m4"]));
    nt.stabilize();
    expect(nt.get("m4").confState.voters).toEqual(["m1", "m2", "m3", "m4"]);
  });

  it("allows one unapplied conf change at a time (a second becomes an empty entry)", () => {
    const nt = withSpare();
    const n1 = nt.get("m1").node;
    n1.proposeConfChange(cc("Auto", ["AddLearnerNode", "m4"]));
    n1.proposeConfChange(cc("Auto", ["RemoveNode", "m3"]));
    nt.stabilize();
    const kinds = nt.get("m1").applied.slice(-2).map((e) => e.type);
    expect(kinds).toEqual(["ConfChange", "Normal"]);
    expect(nt.get("m1").confState.voters).toEqual(three);
  });

  it("removes a voter; the quorum shrinks", () => {
    const nt = cluster(five);
    elect(nt, "m1");
    nt.get("m1").node.proposeConfChange(cc("Auto", ["RemoveNode", "m5"]));
    nt.stabilize();
    expect(nt.get("m1").confState.voters).toEqual(["m1", "m2", "m3", "m4"]);
    nt.isolate("m4");
    nt.isolate("m5");
    nt.get("m1").node.propose(enc("x")); // 3 of 4 suffice
    nt.stabilize();
    expect(nt.appliedData("m1")).toEqual(["x"]);
  });

  it("a removed leader steps down and the rest elect a new one", () => {
    const nt = cluster();
    elect(nt, "m1");
    nt.get("m1").node.proposeConfChange(cc("Auto", ["RemoveNode", "m1"]));
    nt.stabilize();
    expect(role(nt, "m1")).toBe("Follower");
    nt.expireLease("m3");
    nt.tickElection("m2");
    nt.stabilize();
    expect(nt.leader()).toBe("m2");
    expect(nt.get("m2").confState.voters).toEqual(["m2", "m3"]);
  });

  it("replaces a voter through a joint configuration that raft leaves automatically", () => {
    const nt = withSpare();
    nt.get("m1").node.proposeConfChange(cc("Auto", ["AddNode", "m4"], ["RemoveNode", "m3"]));
    nt.stabilize();
    nt.tick("m1");
    nt.stabilize();
    for (const id of ["m1", "m2", "m4"]) {
      expect(nt.get(id).confState).toEqual({ voters: ["m1", "m2", "m4"], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false });
    }
    const ccs = nt.get("m1").applied.filter((e) => e.type === "ConfChange");
    expect(ccs).toHaveLength(2); // enter joint, then the automatic leave
  });

  it("in a joint configuration decisions need both majorities", () => {
    const nt = withSpare();
    nt.get("m1").node.proposeConfChange(cc("Explicit", ["AddNode", "m4"], ["RemoveNode", "m3"]));
    nt.stabilize();
    nt.tick("m1");
    nt.stabilize();
    expect(nt.get("m1").confState.votersOutgoing).toEqual(three);
    // Old majority {m1,m2,m3} without m2,m3 is lost even though new {m1,m2,m4} has m1,m4.
    nt.isolate("m2");
    nt.isolate("m3");
    const before = nt.get("m1").node.raft.raftLog.committed;
    nt.get("m1").node.propose(enc("x"));
    nt.stabilize();
    expect(nt.get("m1").node.raft.raftLog.committed).toBe(before);
    nt.heal();
    nt.stabilize();
    nt.get("m1").node.proposeConfChange(cc("Auto")); // explicit leave
    nt.stabilize();
    expect(nt.get("m1").confState.votersOutgoing).toEqual([]);
  });

  it("a node with committed but unapplied conf changes does not campaign", () => {
    const nt = cluster();
    elect(nt, "m1");
    nt.get("m1").node.proposeConfChange(cc("Auto", ["AddLearnerNode", "m4"]));
    nt.processReady("m1");
    nt.deliver();
    nt.processReady("m2");
    nt.deliver("m1");
    nt.processReady("m1");
    nt.tick("m1");
    nt.processReady("m1");
    nt.deliver("m2"); // heartbeat carries the commit
    const r2 = nt.get("m2").node.raft;
    expect(r2.raftLog.committed).toBeGreaterThan(r2.raftLog.applied);
    expect(r2.hasUnappliedConfChanges()).toBe(true);
    r2.hup("CampaignElection");
    expect(r2.state).toBe("Follower");
  });

  it("carries the configuration in snapshots", () => {
    const nt = withSpare();
    nt.get("m1").node.proposeConfChange(cc("Auto", ["AddLearnerNode", "m4"]));
    nt.stabilize();
    const s1 = nt.get("m1");
    s1.storage.createSnapshot(s1.node.raft.raftLog.applied, s1.confState, new Uint8Array(0));
    expect(s1.storage.snapshot().metadata.confState.learners).toEqual(["m4"]);
    const restarted = new RawNode({ id: "m1", rng: prng(1), applied: s1.node.raft.raftLog.applied }, s1.storage);
    expect(restarted.status().config.learners).toEqual(["m4"]);
  });
});

describe("leadership transfer (§3.10)", () => {
  it("hands leadership to an up-to-date follower, dropping proposals meanwhile", () => {
    const nt = cluster();
    elect(nt, "m1");
    nt.get("m1").node.transferLeader("m2");
    expect(nt.get("m1").node.raft.leadTransferee).toBe("m2");
    expect(nt.get("m1").node.propose(enc("x"))).toBe(ErrProposalDropped);
    nt.stabilize();
    expect(nt.leader()).toBe("m2");
    expect(term(nt, "m2")).toBe(3);
  });

  it("catches a lagging transferee up first", () => {
    const nt = cluster();
    elect(nt, "m1");
    nt.isolate("m3");
    nt.get("m1").node.propose(enc("x"));
    nt.stabilize();
    nt.heal();
    nt.get("m1").node.transferLeader("m3");
    nt.stabilize();
    expect(nt.leader()).toBe("m3");
    expect(nt.appliedData("m3")).toEqual(["x"]);
  });

  it("aborts after an election timeout if the transferee does not take over", () => {
    const nt = cluster();
    elect(nt, "m1");
    nt.isolate("m3");
    nt.get("m1").node.transferLeader("m3");
    for (let i = 0; i < 10; i++) nt.tick("m1");
    nt.stabilize();
    expect(nt.get("m1").node.raft.leadTransferee).toBe("");
    expect(nt.leader()).toBe("m1");
    expect(nt.get("m1").node.propose(enc("ok again"))).toBeNull();
  });
});

describe("Ready contract", () => {
  it("hands out one Ready at a time", () => {
    const nt = cluster();
    const n1 = nt.get("m1").node;
    n1.campaign();
    const rd = n1.ready();
    expect(n1.hasReady()).toBe(false);
    expect(() => n1.ready()).toThrow(/before advance/);
    n1.advance(rd);
  });

  it("votes and append acks are only sent together with the state that backs them", () => {
    const nt = cluster(three, 1, { preVote: false });
    elect(nt, "m1");
    nt.get("m1").node.propose(enc("x"));
    nt.processReady("m1");
    nt.deliver("m2");
    const rd = nt.get("m2").node.ready();
    const ack = rd.messages.find((m) => m.type === "MsgAppResp")!;
    expect(rd.entries.map((e) => e.index)).toContain(ack.index);
    expect(rd.mustSync).toBe(true);
    nt.get("m2").node.advance(rd);
    // The leader's own entries count only after it persisted them (self-ack on advance).
    const r1 = nt.get("m1").node.raft;
    expect(r1.trk.progress.get("m1")!.match).toBe(r1.raftLog.lastIndex());
  });
});

describe("quiescence (ticks stop while nothing happens)", () => {
  const quiet = () => {
    const nt = cluster(three, 1, { preVote: true, checkQuorum: true });
    elect(nt, "m1");
    return nt;
  };
  const allQuiesced = (nt: Network) => three.every((id) => nt.get(id).node.quiesced());

  it("a leader quiesces only with its whole log committed, applied and on every member", () => {
    const nt = quiet();
    nt.isolate("m3");
    nt.get("m1").node.propose(enc("x"));
    nt.stabilize();
    expect(nt.get("m1").node.quiesce()).toBe(false); // m3 lacks the entry
    nt.heal();
    nt.tick("m1", 1); // a heartbeat finds m3 behind; the append follows
    nt.stabilize();
    expect(nt.get("m1").node.quiesce()).toBe(true);
    nt.stabilize();
    expect(allQuiesced(nt)).toBe(true);
    expect(nt.get("m1").node.quiesce()).toBe(false); // already quiesced
  });

  it("quiesced members send nothing however long they tick, and a proposal wakes them all", () => {
    const nt = quiet();
    nt.get("m1").node.quiesce();
    nt.stabilize();
    const sentBefore = nt.sent.length;
    for (const id of three) nt.tick(id, 100);
    nt.stabilize();
    expect(nt.sent.length).toBe(sentBefore);
    expect(nt.leader()).toBe("m1");
    nt.get("m2").node.propose(enc("after")); // a follower's client: forwarded to the leader
    nt.stabilize();
    expect(three.some((id) => nt.get(id).node.quiesced())).toBe(false);
    for (const id of three) expect(nt.appliedData(id)).toEqual(["after"]);
  });

  it("a read wakes the leader, which confirms it with a heartbeat round", () => {
    const nt = quiet();
    nt.get("m1").node.quiesce();
    nt.stabilize();
    nt.get("m1").node.readIndex(enc("r1"));
    nt.stabilize();
    expect(nt.get("m1").readStates.map((r) => new TextDecoder().decode(r.requestCtx))).toEqual(["r1"]);
    expect(nt.get("m1").node.quiesced()).toBe(false);
  });

  it("a follower whose log is not all committed stays awake", () => {
    const nt = quiet();
    const f = nt.get("m2").node.raft;
    // As if the follower held an entry beyond what the leader will ever commit.
    f.raftLog.append([{ index: f.raftLog.lastIndex() + 1, term: f.term, type: "Normal", data: enc("stray") }]);
    expect(nt.get("m1").node.quiesce()).toBe(true);
    nt.stabilize();
    expect(nt.get("m2").node.quiesced()).toBe(false);
    expect(nt.get("m3").node.quiesced()).toBe(true);
  });

  it("a member that restarts while the others are quiesced wakes them with its pre-vote and rejoins the leader", () => {
    const nt = quiet();
    nt.get("m1").node.quiesce();
    nt.stabilize();
    // m3 restarts from its storage: a new node that has not heard from any leader.
    const old = nt.get("m3");
    nt.nodes.delete("m3");
    nt.addWithStorage("m3", old.storage, { preVote: true, checkQuorum: true }, old.applied);
    nt.tickElection("m3");
    nt.stabilize();
    expect(nt.get("m1").node.quiesced()).toBe(false);
    nt.tick("m1", 1);
    nt.stabilize();
    expect(nt.leader()).toBe("m1");
    expect(nt.get("m3").node.raft.lead).toBe("m1");
    expect(term(nt, "m3")).toBe(term(nt, "m1"));
  });

  it("when the quiesced leader is gone, a request to a follower wakes it and an election follows", () => {
    const nt = quiet();
    nt.get("m1").node.quiesce();
    nt.stabilize();
    nt.isolate("m1"); // the leader crashed
    nt.get("m2").node.propose(enc("lost")); // dropped on the way to m1, but m2 is awake now
    nt.stabilize();
    expect(nt.get("m2").node.quiesced()).toBe(false);
    // m2 campaigns once its election timeout passes; m3 wakes on the pre-vote and grants it
    // once its own lease expires.
    const newLeader = () => ["m2", "m3"].find((id) => role(nt, id) === "Leader");
    for (let i = 0; i < 10 && !newLeader(); i++) {
      nt.tickElection(i % 2 === 0 ? "m2" : "m3");
      nt.stabilize();
    }
    expect(newLeader()).toBeDefined();
    expect(term(nt, newLeader()!)).toBeGreaterThan(term(nt, "m1"));
  });
});
