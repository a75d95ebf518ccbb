// What crosses Durable Object RPC between the front door and a member. Errors travel as
// plain {code, message} values: the platform drops custom properties of thrown errors.
import { EtcdError } from "../server/errors.ts";

export const UNARY_RPCS = [
  "Range",
  "Put",
  "DeleteRange",
  "Txn",
  "Compact",
  "LeaseGrant",
  "LeaseRevoke",
  "LeaseTimeToLive",
  "LeaseLeases",
  "LeaseKeepAlive",
] as const;
export type UnaryRpc = (typeof UNARY_RPCS)[number];

export type UnaryResult<R = unknown> = { ok: true; response: R } | { ok: false; code: number; message: string };

export function failure(err: unknown): UnaryResult<never> {
  if (err instanceof EtcdError) return { ok: false, code: err.code, message: err.message };
  throw err;
}
