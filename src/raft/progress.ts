// Progress: the leader's view of one follower. The state machine (Probe, Replicate,
// Snapshot) follows etcd-raft's tracker:
// - Probe: one MsgApp per heartbeat interval until the follower's match is found;
// - Replicate: optimistic pipelining, next advanced on send, bounded by Inflights;
// - Snapshot: a snapshot is on its way; nothing else is sent until it lands or fails.

import { assert } from "./errors.ts";
import { Inflights } from "./inflights.ts";

export type ProgressState = "StateProbe" | "StateReplicate" | "StateSnapshot";

export class Progress {
  /** Highest index known to match the leader's log. Invariant: 0 <= match < next. */
  match = 0;
  /** Next index to send. Entries in (match, next) are in flight. */
  next = 1;
  /** Highest commit index sent to the follower (in flight). */
  sentCommit = 0;
  state: ProgressState = "StateProbe";
  /** In StateSnapshot: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from the follower since the last CheckQuorum round. Always true for the leader. */
  recentActive = false;
  /** Sending is throttled until the next heartbeat response or acknowledgement. */
  msgAppFlowPaused = false;
  inflights: Inflights;
  isLearner: boolean;

  constructor(next: number, inflights: Inflights, isLearner: boolean) {
    this.next = next;
    this.inflights = inflights;
    this.isLearner = isLearner;
  }

  clone(): Progress {
    const p = new Progress(this.next, this.inflights, this.isLearner);
    p.match = this.match;
    p.sentCommit = this.sentCommit;
    p.state = this.state;
    p.pendingSnapshot = this.pendingSnapshot;
    p.recentActive = this.recentActive;
    p.msgAppFlowPaused = this.msgAppFlowPaused;
    return p;
  }

  resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  /** Back to probing from match+1 (or, after a snapshot was sent, from its index + 1). */
  becomeProbe(): void {
    if (this.state === "StateSnapshot") {
      const pending = this.pendingSnapshot;
      this.resetState("StateProbe");
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState("StateProbe");
      this.next = this.match + 1;
    }
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
  }

  becomeReplicate(): void {
    this.resetState("StateReplicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState("StateSnapshot");
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
    this.sentCommit = snapshotIndex;
  }

  /** A MsgApp with `entries` entries (bytes in total) was sent starting at next. */
  sentEntries(entries: number, bytes: number): void {
    if (this.state === "StateReplicate") {
      if (entries > 0) {
        this.next += entries;
        this.inflights.add(this.next - 1, bytes);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else {
      assert(this.state === "StateProbe", `sending append in unhandled state ${this.state}`);
      if (entries > 0) this.msgAppFlowPaused = true;
    }
  }

  /** Whether sending commit index `index` could advance the follower's commit. */
  canBumpCommit(index: number): boolean {
    return index > this.sentCommit && this.sentCommit < this.next - 1;
  }

  sentCommitTo(commit: number): void {
    this.sentCommit = commit;
  }

  /** An acknowledgement of index n. Returns false if it is stale. */
  maybeUpdate(n: number): boolean {
    if (n <= this.match) return false;
    this.match = n;
    this.next = Math.max(this.next, n + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * A rejection of the MsgApp at index `rejected`, with the follower's hint of where the logs
   * may match. Returns false for stale rejections (reordered or duplicated messages).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === "StateReplicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      this.sentCommit = Math.min(this.sentCommit, this.next - 1);
      return true;
    }
    // Probing sends one message at a time; a rejection of anything but next-1 is stale.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  isPaused(): boolean {
    if (this.state === "StateSnapshot") return true;
    return this.msgAppFlowPaused;
  }

  toString(): string {
    let s = `${this.state} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += " learner";
    if (this.isPaused()) s += " paused";
    if (this.pendingSnapshot > 0) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += " inactive";
    const n = this.inflights.count();
    if (n > 0) s += ` inflight=${n}${this.inflights.full() ? "[full]" : ""}`;
    return s;
  }
}
