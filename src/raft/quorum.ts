// Quorum arithmetic for majority and joint configurations. A joint configuration is a pair
// (incoming, outgoing); it decides only what both halves decide. The outgoing half is empty
// when not joint, and an empty majority config agrees to everything (committed index ∞,
// vote won), so the joint rules reduce to the plain majority rules.

import type { NodeId } from "./types.ts";

export type VoteResult = "VotePending" | "VoteLost" | "VoteWon";

/** The largest index acknowledged by a majority of voters. acked returns undefined for
 * voters that have not acknowledged anything (counted as 0). Empty config: Infinity. */
export function majorityCommittedIndex(voters: ReadonlySet<NodeId>, acked: (id: NodeId) => number | undefined): number {
  const n = voters.size;
  if (n === 0) return Infinity;
  const idx: number[] = [];
  for (const id of voters) idx.push(acked(id) ?? 0);
  idx.sort((a, b) => b - a);
  // The (n/2+1)-th largest value is acknowledged by a majority.
  return idx[Math.floor(n / 2)]!;
}

/** Whether the votes (true = granted) win, lose or are still pending in voters. */
export function majorityVoteResult(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.size === 0) return "VoteWon";
  let yes = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) yes++;
  }
  const q = Math.floor(voters.size / 2) + 1;
  if (yes >= q) return "VoteWon";
  if (yes + missing >= q) return "VotePending";
  return "VoteLost";
}

export type JointConfig = [incoming: Set<NodeId>, outgoing: Set<NodeId>];

export function jointCommittedIndex(c: JointConfig, acked: (id: NodeId) => number | undefined): number {
  return Math.min(majorityCommittedIndex(c[0], acked), majorityCommittedIndex(c[1], acked));
}

export function jointVoteResult(c: JointConfig, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const r1 = majorityVoteResult(c[0], votes);
  const r2 = majorityVoteResult(c[1], votes);
  if (r1 === r2) return r1;
  if (r1 === "VoteLost" || r2 === "VoteLost") return "VoteLost";
  return "VotePending";
}

export function jointIds(c: JointConfig): Set<NodeId> {
  const s = new Set(c[0]);
  for (const id of c[1]) s.add(id);
  return s;
}
