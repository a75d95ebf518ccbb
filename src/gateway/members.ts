// Which member serves a request. Members are named in configuration (ETCDO_MEMBERS,
// comma-separated). Writes go to the member last reported as leader (any member accepts
// them, a follower forwards, so a stale hint costs a hop, not an error); reads are spread
// round-robin. `x-etcdo-member: m2` pins one request to a member (debugging, tests).
import { objectName } from "../member/identity.ts";
import type { Env } from "../member/env.ts";
import type { Member } from "../member/member.ts";

export const MEMBER_HEADER = "x-etcdo-member";

export class UnknownMemberError extends Error {}

export function memberNames(env: Env): string[] {
  const names = (env.ETCDO_MEMBERS ?? "m1").split(",").map((s) => s.trim()).filter(Boolean);
  return names.length > 0 ? names : ["m1"];
}

/** Per-isolate routing memory: the last leader seen, and a round-robin cursor. */
const leaderHint = new Map<string, string>();
let cursor = 0;

export function rememberLeader(env: Env, leader: string | undefined): void {
  if (leader && memberNames(env).includes(leader)) leaderHint.set(env.ETCDO_CLUSTER ?? "default", leader);
}

export function pickMember(env: Env, pinned: string | undefined, forWrite: boolean): string {
  const names = memberNames(env);
  if (pinned) {
    if (!names.includes(pinned)) throw new UnknownMemberError(`unknown member ${JSON.stringify(pinned)}`);
    return pinned;
  }
  if (forWrite) {
    const hint = leaderHint.get(env.ETCDO_CLUSTER ?? "default");
    if (hint) return hint;
  }
  cursor = (cursor + 1) % names.length;
  return names[cursor]!;
}

export function stubFor(env: Env, member: string): DurableObjectStub<Member> {
  return env.MEMBER.getByName(objectName(env.ETCDO_CLUSTER ?? "default", member));
}
