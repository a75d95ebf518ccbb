// Membership changes (joint consensus, as in the Raft thesis §4.3, and simple one-voter
// changes), computed on copies and validated before they touch the active configuration.
// Changes take effect when the application applies the committed ConfChange entry
// (applyConfChange), not when it is appended. That is safe together with three rules
// enforced elsewhere in the core:
// 1. a leader appends a ConfChange only after it has applied every earlier one
//    (pendingConfIndex);
// 2. a node does not campaign while it has committed but unapplied ConfChanges;
// 3. a follower appending a ConfChange also learns (in the same message, persisted in the
//    same Ready) a commit index covering the previous one (MsgApp carries the leader's
//    commit, which covers it by rule 1).
// Together these keep the configurations of any two candidates at most one change apart,
// so their quorums intersect.

import { assert } from "./errors.ts";
import { Progress } from "./progress.ts";
import type { Inflights } from "./inflights.ts";
import { cloneTrackerConfig, type ProgressTracker, type TrackerConfig } from "./tracker.ts";
import { None, type ConfChange, type ConfChangeSingle, type ConfState, type NodeId } from "./types.ts";
import { fromUtf8, utf8, toBase64, fromBase64 } from "../util/bytes.ts";

export interface ChangeResult {
  config: TrackerConfig;
  progress: Map<NodeId, Progress>;
}

export class ConfChangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfChangeError";
  }
}

/** Computes new configurations from the tracker's current one. Throws ConfChangeError. */
export class Changer {
  readonly base: { readonly config: TrackerConfig; readonly progress: ReadonlyMap<NodeId, Progress> };
  readonly lastIndex: number;
  readonly newInflights: () => Inflights;

  constructor(
    base: { readonly config: TrackerConfig; readonly progress: ReadonlyMap<NodeId, Progress> },
    lastIndex: number,
    newInflights: () => Inflights,
  ) {
    this.base = base;
    this.lastIndex = lastIndex;
    this.newInflights = newInflights;
  }

  static of(tracker: ProgressTracker, lastIndex: number): Changer {
    return new Changer(tracker, lastIndex, () => tracker.newInflights());
  }

  /** (1 2 3)&&() → (new)&&(1 2 3): enter a joint configuration with the changes applied to
   * the incoming half. */
  enterJoint(autoLeave: boolean, ccs: ConfChangeSingle[]): ChangeResult {
    const { config, progress } = this.#checkAndCopy();
    if (config.voters[1].size > 0) throw new ConfChangeError("config is already joint");
    if (config.voters[0].size === 0) throw new ConfChangeError("can't make a zero-voter config joint");
    config.voters[1] = new Set(config.voters[0]);
    this.#apply(config, progress, ccs);
    config.autoLeave = autoLeave;
    return checkAndReturn(config, progress);
  }

  /** (new)&&(old) → (new)&&(): leave the joint configuration; staged learners become learners
   * and outgoing voters that are neither voters nor learners lose their progress. */
  leaveJoint(): ChangeResult {
    const { config, progress } = this.#checkAndCopy();
    if (config.voters[1].size === 0) throw new ConfChangeError("can't leave a non-joint config");
    for (const id of config.learnersNext) {
      config.learners.add(id);
      progress.get(id)!.isLearner = true;
    }
    config.learnersNext = new Set();
    for (const id of config.voters[1]) {
      if (!config.voters[0].has(id) && !config.learners.has(id)) progress.delete(id);
    }
    config.voters[1] = new Set();
    config.autoLeave = false;
    return checkAndReturn(config, progress);
  }

  /** Changes that together alter the voters by at most one, outside a joint configuration. */
  simple(ccs: ConfChangeSingle[]): ChangeResult {
    const { config, progress } = this.#checkAndCopy();
    if (config.voters[1].size > 0) throw new ConfChangeError("can't apply simple config change in joint config");
    this.#apply(config, progress, ccs);
    if (symdiff(this.base.config.voters[0], config.voters[0]) > 1) {
      throw new ConfChangeError("more than one voter changed without entering joint config");
    }
    return checkAndReturn(config, progress);
  }

  #apply(cfg: TrackerConfig, prs: Map<NodeId, Progress>, ccs: ConfChangeSingle[]): void {
    for (const cc of ccs) {
      if (cc.nodeId === None) continue; // blanked out by the application
      switch (cc.type) {
        case "AddNode":
          this.#makeVoter(cfg, prs, cc.nodeId);
          break;
        case "AddLearnerNode":
          this.#makeLearner(cfg, prs, cc.nodeId);
          break;
        case "RemoveNode":
          remove(cfg, prs, cc.nodeId);
          break;
        case "UpdateNode":
          break;
        default:
          throw new ConfChangeError(`unexpected conf change type ${String((cc as ConfChangeSingle).type)}`);
      }
    }
    if (cfg.voters[0].size === 0) throw new ConfChangeError("removed all voters");
  }

  #makeVoter(cfg: TrackerConfig, prs: Map<NodeId, Progress>, id: NodeId): void {
    const pr = prs.get(id);
    if (!pr) {
      this.#initProgress(cfg, prs, id, false);
      return;
    }
    pr.isLearner = false;
    cfg.learners.delete(id);
    cfg.learnersNext.delete(id);
    cfg.voters[0].add(id);
  }

  #makeLearner(cfg: TrackerConfig, prs: Map<NodeId, Progress>, id: NodeId): void {
    const pr = prs.get(id);
    if (!pr) {
      this.#initProgress(cfg, prs, id, true);
      return;
    }
    if (pr.isLearner) return;
    remove(cfg, prs, id);
    prs.set(id, pr);
    // A voter of the outgoing half cannot also be a learner: stage it until we leave.
    if (cfg.voters[1].has(id)) {
      cfg.learnersNext.add(id);
    } else {
      pr.isLearner = true;
      cfg.learners.add(id);
    }
  }

  #initProgress(cfg: TrackerConfig, prs: Map<NodeId, Progress>, id: NodeId, isLearner: boolean): void {
    if (isLearner) cfg.learners.add(id);
    else cfg.voters[0].add(id);
    // Probe from the last index; a newly added node has no log and will be caught up with a
    // snapshot once the probe is rejected. It counts as recently active so that CheckQuorum
    // does not depose the leader before the new node had a chance to answer.
    const pr = new Progress(Math.max(this.lastIndex, 1), this.newInflights(), isLearner);
    pr.recentActive = true;
    prs.set(id, pr);
  }

  #checkAndCopy(): ChangeResult {
    const config = cloneTrackerConfig(this.base.config);
    const progress = new Map<NodeId, Progress>();
    for (const [id, pr] of this.base.progress) progress.set(id, pr.clone());
    return checkAndReturn(config, progress);
  }
}

function remove(cfg: TrackerConfig, prs: Map<NodeId, Progress>, id: NodeId): void {
  if (!prs.has(id)) return;
  cfg.voters[0].delete(id);
  cfg.learners.delete(id);
  cfg.learnersNext.delete(id);
  // An outgoing voter keeps its progress until the joint configuration is left.
  if (!cfg.voters[1].has(id)) prs.delete(id);
}

function symdiff(a: ReadonlySet<NodeId>, b: ReadonlySet<NodeId>): number {
  let n = 0;
  for (const id of a) if (!b.has(id)) n++;
  for (const id of b) if (!a.has(id)) n++;
  return n;
}

function checkInvariants(cfg: TrackerConfig, prs: Map<NodeId, Progress>): void {
  for (const set of [cfg.voters[0], cfg.voters[1], cfg.learners, cfg.learnersNext]) {
    for (const id of set) if (!prs.has(id)) throw new ConfChangeError(`no progress for ${id}`);
  }
  for (const id of cfg.learnersNext) {
    if (!cfg.voters[1].has(id)) throw new ConfChangeError(`${id} is in LearnersNext, but not Voters[1]`);
    if (prs.get(id)!.isLearner) throw new ConfChangeError(`${id} is in LearnersNext, but is already marked as learner`);
  }
  for (const id of cfg.learners) {
    if (cfg.voters[1].has(id)) throw new ConfChangeError(`${id} is in Learners and Voters[1]`);
    if (cfg.voters[0].has(id)) throw new ConfChangeError(`${id} is in Learners and Voters[0]`);
    if (!prs.get(id)!.isLearner) throw new ConfChangeError(`${id} is in Learners, but is not marked as learner`);
  }
  if (cfg.voters[1].size === 0) {
    if (cfg.learnersNext.size > 0) throw new ConfChangeError("cfg.LearnersNext must be empty when not joint");
    if (cfg.autoLeave) throw new ConfChangeError("AutoLeave must be false when not joint");
  }
}

function checkAndReturn(config: TrackerConfig, progress: Map<NodeId, Progress>): ChangeResult {
  checkInvariants(config, progress);
  return { config, progress };
}

/** Whether cc leaves a joint configuration (the empty change). */
export function isLeaveJoint(cc: ConfChange): boolean {
  return cc.transition === "Auto" && cc.changes.length === 0;
}

/** Whether cc enters a joint configuration, and if so whether raft leaves it automatically. */
export function enterJoint(cc: ConfChange): { joint: boolean; autoLeave: boolean } {
  if (cc.transition !== "Auto" || cc.changes.length > 1) {
    return { joint: true, autoLeave: cc.transition !== "Explicit" };
  }
  return { joint: false, autoLeave: false };
}

/** Applies cc to the tracker's configuration (validated; throws ConfChangeError). */
export function changeConfig(changer: Changer, cc: ConfChange): ChangeResult {
  if (isLeaveJoint(cc)) return changer.leaveJoint();
  const j = enterJoint(cc);
  if (j.joint) return changer.enterJoint(j.autoLeave, cc.changes);
  return changer.simple(cc.changes);
}

/**
 * Rebuilds a tracker configuration from a ConfState (bootstrap, restart, snapshot): first
 * the outgoing voters as a simple configuration, then the joint transition to the incoming
 * voters and learners.
 */
export function restoreConfig(tracker: ProgressTracker, lastIndex: number, cs: ConfState): ChangeResult {
  const outgoing: ConfChangeSingle[] = cs.votersOutgoing.map((id) => ({ type: "AddNode", nodeId: id }));
  const incoming: ConfChangeSingle[] = [
    ...cs.votersOutgoing.map((id): ConfChangeSingle => ({ type: "RemoveNode", nodeId: id })),
    ...cs.voters.map((id): ConfChangeSingle => ({ type: "AddNode", nodeId: id })),
    ...cs.learners.map((id): ConfChangeSingle => ({ type: "AddLearnerNode", nodeId: id })),
    ...cs.learnersNext.map((id): ConfChangeSingle => ({ type: "AddLearnerNode", nodeId: id })),
  ];
  const ops: ((c: Changer) => ChangeResult)[] = [];
  if (outgoing.length === 0) {
    for (const cc of incoming) ops.push((c) => c.simple([cc]));
  } else {
    for (const cc of outgoing) ops.push((c) => c.simple([cc]));
    ops.push((c) => c.enterJoint(cs.autoLeave, incoming));
  }
  // Chain the steps: each starts from the previous result.
  let result: ChangeResult = { config: cloneTrackerConfig(tracker.config), progress: new Map(tracker.progress) };
  for (const op of ops) result = op(new Changer(result, lastIndex, () => tracker.newInflights()));
  return result;
}

// ConfChange encoding in entry data: UTF-8 JSON. An empty payload decodes as the empty
// ConfChange (leave joint), which lets the leader's automatic leave entry count zero bytes.
export function encodeConfChange(cc: ConfChange): Uint8Array {
  if (isLeaveJoint(cc) && cc.context.length === 0) return new Uint8Array(0);
  return utf8(
    JSON.stringify({ t: cc.transition, c: cc.changes.map((s) => [s.type, s.nodeId]), x: toBase64(cc.context) }),
  );
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length === 0) return { transition: "Auto", changes: [], context: new Uint8Array(0) };
  const o = JSON.parse(fromUtf8(data)) as { t: ConfChange["transition"]; c: [ConfChangeSingle["type"], NodeId][]; x: string };
  assert(Array.isArray(o.c), "malformed ConfChange entry");
  return { transition: o.t, changes: o.c.map(([type, nodeId]) => ({ type, nodeId })), context: fromBase64(o.x) };
}

/** "AddNode(m4) RemoveNode(m1)" */
export function describeConfChange(cc: ConfChange): string {
  const body = cc.changes.map((c) => `${c.type}(${c.nodeId})`).join(" ");
  return cc.transition === "Auto" ? body : `${cc.transition}: ${body}`;
}
