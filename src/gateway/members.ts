// Which member serves a request. The initial members are named in configuration
// (ETCDO_MEMBERS, comma-separated); members added or removed at runtime are learned by asking
// a member for the current configuration (refreshMembers, cached briefly per isolate).
// Writes go to the member last reported as leader (any member accepts them, a follower
// forwards, so a stale hint costs a hop, not an error); reads are spread round-robin over
// the voters (learners serve only serializable reads and status). `x-etcdo-member: m2` pins
// one request to a member, voter or learner (debugging, tests).
import { objectName } from "../member/identity.ts";
import type { Env } from "../member/env.ts";
import type { Member } from "../member/member.ts";

export const MEMBER_HEADER = "x-etcdo-member";

export class UnknownMemberError extends Error {}

function configuredNames(env: Env): string[] {
  const names = (env.ETCDO_MEMBERS ?? "m1").split(",").map((s) => s.trim()).filter(Boolean);
  return names.length > 0 ? names : ["m1"];
}

interface ClusterView {
  voters: string[];
  learners: string[];
  atMs: number;
}

/** How long a learned configuration is trusted before a member is asked again. */
const VIEW_TTL_MS = 1000;
const views = new Map<string, ClusterView>();
const clusterOf = (env: Env) => env.ETCDO_CLUSTER ?? "default";

/** Voters (for routing), from the learned configuration or else the configured list. */
function voterNames(env: Env): string[] {
  return views.get(clusterOf(env))?.voters ?? configuredNames(env);
}

/** Every current member: voters, then learners. */
export function memberNames(env: Env): string[] {
  const v = views.get(clusterOf(env));
  return v ? [...v.voters, ...v.learners] : configuredNames(env);
}

/**
 * Learns the current configuration from a member (the leader hint first) unless a recent
 * answer is cached; `force` after a membership change. Failures keep the previous view.
 */
export async function refreshMembers(env: Env, force = false): Promise<void> {
  const key = clusterOf(env);
  const v = views.get(key);
  if (!force && v && Date.now() - v.atMs < VIEW_TTL_MS) return;
  const hint = leaderHint.get(key);
  const candidates = [...new Set([...(hint ? [hint] : []), ...voterNames(env)])];
  for (const name of candidates) {
    if (gone.has(`${key}/${name}`)) continue;
    try {
      const view = (await stubFor(env, name).clusterView()) as { voters: string[]; learners: string[]; removed: boolean };
      if (view.removed || view.voters.length === 0) {
        if (view.removed) forgetMember(env, name);
        continue;
      }
      const live = (xs: string[]) => xs.filter((x) => !gone.has(`${key}/${x}`)).sort();
      views.set(key, { voters: live(view.voters), learners: live(view.learners), atMs: Date.now() });
      return;
    } catch {
      // try the next member
    }
  }
}

/** Members that answered as removed: never routed to again (a removed ID never returns). */
const gone = new Set<string>();

/** A member answered "server stopped" (it was removed): stop routing to it. */
export function forgetMember(env: Env, name: string): void {
  const key = clusterOf(env);
  gone.add(`${key}/${name}`);
  if (leaderHint.get(key) === name) leaderHint.delete(key);
  const v = views.get(key);
  if (v) views.set(key, { ...v, voters: v.voters.filter((x) => x !== name), learners: v.learners.filter((x) => x !== name) });
}

/** Whether a member's answer says it was removed from the cluster. */
export function answeredRemoved(result: { ok: boolean; message?: string }): boolean {
  return !result.ok && result.message === "etcdserver: server stopped";
}

/** Per-isolate routing memory: the last leader seen, and a round-robin cursor. */
const leaderHint = new Map<string, string>();
let cursor = 0;

export function rememberLeader(env: Env, leader: string | undefined): void {
  if (leader && voterNames(env).includes(leader)) leaderHint.set(clusterOf(env), leader);
}

export function pickMember(env: Env, pinned: string | undefined, forWrite: boolean): string {
  if (pinned) {
    if (!memberNames(env).includes(pinned)) throw new UnknownMemberError(`unknown member ${JSON.stringify(pinned)}`);
    return pinned;
  }
  const names = voterNames(env);
  if (forWrite) {
    const hint = leaderHint.get(clusterOf(env));
    if (hint && names.includes(hint)) return hint;
  }
  cursor = (cursor + 1) % names.length;
  return names[cursor]!;
}

export function stubFor(env: Env, member: string): DurableObjectStub<Member> {
  return env.MEMBER.getByName(objectName(clusterOf(env), member));
}

/**
 * A member's streaming answer (watch, observe, a socket upgrade) passed through: a WebSocket
 * as is, a body never compressed (a compressor holds events back until its buffer fills),
 * headers copied so they are mutable (the CORS middleware adds its own).
 */
export function relayStream(res: Response): Response {
  if (res.webSocket) return new Response(null, { status: 101, webSocket: res.webSocket, headers: res.headers });
  const headers = new Headers(res.headers);
  if (res.status === 200) headers.set("Content-Encoding", "identity");
  return new Response(res.body, { status: res.status, headers, encodeBody: "manual" });
}
