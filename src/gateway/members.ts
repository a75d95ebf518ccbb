// Which member serves a request. Members are named in configuration (ETCDO_MEMBERS,
// comma-separated); `x-etcdo-member: m2` pins one request to a member.
import { objectName } from "../member/identity.ts";
import type { Env } from "../member/env.ts";
import type { Member } from "../member/member.ts";

export const MEMBER_HEADER = "x-etcdo-member";

export function memberNames(env: Env): string[] {
  const names = (env.ETCDO_MEMBERS ?? "m1").split(",").map((s) => s.trim()).filter(Boolean);
  return names.length > 0 ? names : ["m1"];
}

export class UnknownMemberError extends Error {}

export function memberStub(env: Env, pinned: string | undefined): DurableObjectStub<Member> {
  const names = memberNames(env);
  let name = names[0]!;
  if (pinned) {
    if (!names.includes(pinned)) throw new UnknownMemberError(`unknown member ${JSON.stringify(pinned)}`);
    name = pinned;
  }
  return env.MEMBER.getByName(objectName(env.ETCDO_CLUSTER ?? "default", name));
}
