// ProgressTracker: the active configuration, a Progress per member, and the votes of the
// current election.

import { Inflights } from "./inflights.ts";
import type { Progress } from "./progress.ts";
import {
  jointCommittedIndex,
  jointIds,
  jointVoteResult,
  type JointConfig,
  type VoteResult,
} from "./quorum.ts";
import type { ConfState, NodeId } from "./types.ts";

export interface TrackerConfig {
  voters: JointConfig;
  /** Joint and to be left automatically by the leader once the joint entry is applied. */
  autoLeave: boolean;
  /** Invariant: disjoint from both halves of voters. */
  learners: Set<NodeId>;
  /** Outgoing voters that become learners when the joint configuration is left.
   * Invariant: a subset of voters[1]; empty unless joint. */
  learnersNext: Set<NodeId>;
}

export function emptyTrackerConfig(): TrackerConfig {
  return { voters: [new Set(), new Set()], autoLeave: false, learners: new Set(), learnersNext: new Set() };
}

export function cloneTrackerConfig(c: TrackerConfig): TrackerConfig {
  return {
    voters: [new Set(c.voters[0]), new Set(c.voters[1])],
    autoLeave: c.autoLeave,
    learners: new Set(c.learners),
    learnersNext: new Set(c.learnersNext),
  };
}

const sorted = (s: Iterable<NodeId>): NodeId[] => [...s].sort();

export function describeTrackerConfig(c: TrackerConfig): string {
  let s = `voters=(${sorted(c.voters[0]).join(" ")})`;
  if (c.voters[1].size > 0) s += `&&(${sorted(c.voters[1]).join(" ")})`;
  if (c.learners.size > 0) s += ` learners=(${sorted(c.learners).join(" ")})`;
  if (c.learnersNext.size > 0) s += ` learners_next=(${sorted(c.learnersNext).join(" ")})`;
  if (c.autoLeave) s += " autoleave";
  return s;
}

export class ProgressTracker {
  config: TrackerConfig = emptyTrackerConfig();
  #progress = new Map<NodeId, Progress>();
  #sortedIds: NodeId[] = [];
  votes = new Map<NodeId, boolean>();
  readonly maxInflight: number;
  readonly maxInflightBytes: number;

  constructor(maxInflight: number, maxInflightBytes: number) {
    this.maxInflight = maxInflight;
    this.maxInflightBytes = maxInflightBytes;
  }

  get progress(): ReadonlyMap<NodeId, Progress> {
    return this.#progress;
  }

  setProgress(m: Map<NodeId, Progress>): void {
    this.#progress = m;
    this.#sortedIds = [...m.keys()].sort();
  }

  newInflights(): Inflights {
    return new Inflights(this.maxInflight, this.maxInflightBytes);
  }

  confState(): ConfState {
    return {
      voters: sorted(this.config.voters[0]),
      votersOutgoing: sorted(this.config.voters[1]),
      learners: sorted(this.config.learners),
      learnersNext: sorted(this.config.learnersNext),
      autoLeave: this.config.autoLeave,
    };
  }

  isJoint(): boolean {
    return this.config.voters[1].size > 0;
  }

  /** Exactly one voter (the leader) and not joint. */
  isSingleton(): boolean {
    return this.config.voters[0].size === 1 && this.config.voters[1].size === 0;
  }

  isVoter(id: NodeId): boolean {
    return this.config.voters[0].has(id) || this.config.voters[1].has(id);
  }

  /** The largest index acknowledged (matched) by a quorum of voters. */
  committed(): number {
    return jointCommittedIndex(this.config.voters, (id) => this.#progress.get(id)?.match);
  }

  /** Visits every progress in a stable (sorted) order. */
  visit(fn: (id: NodeId, pr: Progress) => void): void {
    for (const id of this.#sortedIds) {
      const pr = this.#progress.get(id);
      if (pr) fn(id, pr);
    }
  }

  /** Whether a quorum of voters was recently active (CheckQuorum). */
  quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    this.visit((id, pr) => {
      if (!pr.isLearner) votes.set(id, pr.recentActive);
    });
    return jointVoteResult(this.config.voters, votes) === "VoteWon";
  }

  voterNodes(): NodeId[] {
    return sorted(jointIds(this.config.voters));
  }

  learnerNodes(): NodeId[] {
    return sorted(this.config.learners);
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  /** Records a vote; only the first vote of each node counts. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.#progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: jointVoteResult(this.config.voters, this.votes) };
  }
}
