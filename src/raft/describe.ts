// Stable one-line text forms of raft values, for scenario-script output and debugging.

import { fromUtf8 } from "../util/bytes.ts";
import { decodeConfChange, describeConfChange } from "./confchange.ts";
import type { Ready } from "./raw-node.ts";
import type { Entry, HardState, Message, Snapshot } from "./types.ts";

function printable(data: Uint8Array): string {
  const s = fromUtf8(data);
  return /^[\x20-\x7e]*$/.test(s) ? JSON.stringify(s) : `0x${[...data].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** "2/12 EntryNormal \"data\"" (term/index). */
export function describeEntry(e: Entry): string {
  if (e.type === "ConfChange") return `${e.term}/${e.index} EntryConfChange ${describeConfChange(decodeConfChange(e.data)) || "LeaveJoint"}`;
  return `${e.term}/${e.index} EntryNormal ${printable(e.data)}`;
}

export function describeEntries(ents: readonly Entry[]): string {
  return ents.map(describeEntry).join(", ");
}

export function describeHardState(hs: HardState): string {
  let s = `Term:${hs.term}`;
  if (hs.vote !== "") s += ` Vote:${hs.vote}`;
  s += ` Commit:${hs.commit}`;
  return s;
}

export function describeSnapshot(s: Snapshot): string {
  const cs = s.metadata.confState;
  let c = `Voters:[${cs.voters.join(" ")}]`;
  if (cs.votersOutgoing.length) c += ` VotersOutgoing:[${cs.votersOutgoing.join(" ")}]`;
  if (cs.learners.length) c += ` Learners:[${cs.learners.join(" ")}]`;
  if (cs.learnersNext.length) c += ` LearnersNext:[${cs.learnersNext.join(" ")}]`;
  if (cs.autoLeave) c += " AutoLeave";
  return `Index:${s.metadata.index} Term:${s.metadata.term} ConfState:${c}`;
}

/** "m1->m2 MsgApp Term:1 Log:1/11 Commit:11 Entries:[…]" */
export function describeMessage(m: Message): string {
  let s = `${m.from || "_"}->${m.to || "_"} ${m.type} Term:${m.term} Log:${m.logTerm}/${m.index}`;
  if (m.reject) s += ` Rejected (Hint: ${m.rejectHint})`;
  if (m.commit !== 0) s += ` Commit:${m.commit}`;
  if (m.entries.length > 0) s += ` Entries:[${describeEntries(m.entries)}]`;
  if (m.snapshot) s += ` Snapshot: ${describeSnapshot(m.snapshot)}`;
  if (m.context && m.context.length > 0 && m.type !== "MsgHeartbeat" && m.type !== "MsgHeartbeatResp") {
    s += ` Context:${printable(m.context)}`;
  }
  return s;
}

/** Multi-line description of a Ready, one item per line. */
export function describeReady(rd: Ready): string[] {
  const out: string[] = [`Ready MustSync=${rd.mustSync}:`];
  if (rd.softState) out.push(`Lead:${rd.softState.lead || "0"} State:State${rd.softState.role}`);
  if (rd.hardState) out.push(`HardState ${describeHardState(rd.hardState)}`);
  if (rd.readStates.length > 0) {
    out.push(`ReadStates: ${rd.readStates.map((r) => `{Index:${r.index} Ctx:${printable(r.requestCtx)}}`).join(" ")}`);
  }
  if (rd.entries.length > 0) {
    out.push("Entries:");
    for (const e of rd.entries) out.push(describeEntry(e));
  }
  if (rd.snapshot) out.push(`Snapshot ${describeSnapshot(rd.snapshot)}`);
  if (rd.committedEntries.length > 0) {
    out.push("CommittedEntries:");
    for (const e of rd.committedEntries) out.push(describeEntry(e));
  }
  if (rd.messages.length > 0) {
    out.push("Messages:");
    for (const m of rd.messages) out.push(describeMessage(m));
  }
  return out;
}
