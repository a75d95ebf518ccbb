// The JSON codec of etcd 3.4's Lock and Election services on the gateway (v3lock.proto,
// v3election.proto): /v3/lock/{lock,unlock}, /v3/election/{campaign,proclaim,leader,resign}
// and the server stream /v3/election/observe. Requests decode with jsonpb's acceptance and
// Go's error texts (the machinery of ./jsonpb.ts), responses are written as the gateway does.
import { EtcdError, GrpcCode } from "../../server/errors.ts";
import type {
  CampaignRequest,
  CampaignResponse,
  ConcurrencyRpc,
  LeaderKey,
  LeaderRequest,
  LeaderResponse,
  LockRequest,
  LockResponse,
  ProclaimRequest,
  ProclaimResponse,
  ResignRequest,
  ResignResponse,
  UnlockRequest,
  UnlockResponse,
} from "../../server/concurrency/types.ts";
import { Doc, GoError, decoderReadValue, utf8Encode } from "./gojson.ts";
import { type DecodedMessage, type FieldDesc, type MessageDesc, unmarshalMessage } from "./jsonpb.ts";
import { Obj, encodeHeader, encodeKeyValue } from "./responses.ts";

const f = (name: string, json: string, type: FieldDesc["type"]): FieldDesc => ({ name, json, type });

export const LockRequestDesc: MessageDesc = { items: [f("name", "name", "bytes"), f("lease", "lease", "int64")] };
export const UnlockRequestDesc: MessageDesc = { items: [f("key", "key", "bytes")] };
export const LeaderKeyDesc: MessageDesc = {
  items: [f("name", "name", "bytes"), f("key", "key", "bytes"), f("rev", "rev", "int64"), f("lease", "lease", "int64")],
};
export const CampaignRequestDesc: MessageDesc = {
  items: [f("name", "name", "bytes"), f("lease", "lease", "int64"), f("value", "value", "bytes")],
};
export const ProclaimRequestDesc: MessageDesc = {
  items: [f("leader", "leader", { message: () => LeaderKeyDesc }), f("value", "value", "bytes")],
};
export const LeaderRequestDesc: MessageDesc = { items: [f("name", "name", "bytes")] };
export const ResignRequestDesc: MessageDesc = { items: [f("leader", "leader", { message: () => LeaderKeyDesc })] };

const EMPTY = new Uint8Array(0);
const bytesOf = (m: DecodedMessage, n: string) => (m.fields.get(n) as Uint8Array | undefined) ?? EMPTY;
const bigOf = (m: DecodedMessage, n: string) => (m.fields.get(n) as bigint | undefined) ?? 0n;
const msgOf = (m: DecodedMessage, n: string) => m.fields.get(n) as DecodedMessage | undefined;

function toLeaderKey(m: DecodedMessage | undefined): LeaderKey | undefined {
  if (!m) return undefined;
  return { name: bytesOf(m, "name"), key: bytesOf(m, "key"), rev: Number(bigOf(m, "rev")), lease: bigOf(m, "lease") };
}

/** The first JSON value of a body as `desc` (empty body: empty request), Go's errors as code 3. */
function decodeBody(body: string | Uint8Array, desc: MessageDesc): DecodedMessage {
  const buf = typeof body === "string" ? utf8Encode(body) : body;
  try {
    const v = decoderReadValue(buf, 0);
    if (v === null) return { fields: new Map(), oneofs: new Map() };
    const doc = new Doc(buf);
    return unmarshalMessage(doc, doc.parse(v.start, v.end), desc);
  } catch (e) {
    if (e instanceof GoError) throw new EtcdError(GrpcCode.InvalidArgument, e.message);
    throw e;
  }
}

function encodeLeaderKey(k: LeaderKey | undefined): string | undefined {
  if (!k) return undefined;
  return new Obj().bytes("name", k.name).bytes("key", k.key).int("rev", k.rev).int("lease", k.lease).toString();
}

const headerOnly = (r: { header?: LockResponse["header"] }) => new Obj().msg("header", encodeHeader(r.header)).toString();

export function encodeLeaderResponse(r: LeaderResponse): string {
  return new Obj().msg("header", encodeHeader(r.header)).msg("kv", r.kv && encodeKeyValue(r.kv)).toString();
}

export interface ConcurrencyCodec<Req, Res> {
  readonly name: ConcurrencyRpc;
  decode(body: string | Uint8Array): Req;
  encode(response: Res): string;
}

const codec = <Req, Res>(name: ConcurrencyRpc, decode: (b: string | Uint8Array) => Req, encode: (r: Res) => string): ConcurrencyCodec<Req, Res> =>
  ({ name, decode, encode });

export const concurrencyRpcs = {
  Lock: codec<LockRequest, LockResponse>(
    "Lock",
    (b) => { const m = decodeBody(b, LockRequestDesc); return { name: bytesOf(m, "name"), lease: bigOf(m, "lease") }; },
    (r) => new Obj().msg("header", encodeHeader(r.header)).bytes("key", r.key).toString(),
  ),
  Unlock: codec<UnlockRequest, UnlockResponse>(
    "Unlock",
    (b) => ({ key: bytesOf(decodeBody(b, UnlockRequestDesc), "key") }),
    headerOnly,
  ),
  Campaign: codec<CampaignRequest, CampaignResponse>(
    "Campaign",
    (b) => {
      const m = decodeBody(b, CampaignRequestDesc);
      return { name: bytesOf(m, "name"), lease: bigOf(m, "lease"), value: bytesOf(m, "value") };
    },
    (r) => new Obj().msg("header", encodeHeader(r.header)).msg("leader", encodeLeaderKey(r.leader)).toString(),
  ),
  Proclaim: codec<ProclaimRequest, ProclaimResponse>(
    "Proclaim",
    (b) => { const m = decodeBody(b, ProclaimRequestDesc); return { leader: toLeaderKey(msgOf(m, "leader")), value: bytesOf(m, "value") }; },
    headerOnly,
  ),
  Leader: codec<LeaderRequest, LeaderResponse>(
    "Leader",
    (b) => ({ name: bytesOf(decodeBody(b, LeaderRequestDesc), "name") }),
    encodeLeaderResponse,
  ),
  Resign: codec<ResignRequest, ResignResponse>(
    "Resign",
    (b) => ({ leader: toLeaderKey(msgOf(decodeBody(b, ResignRequestDesc), "leader")) }),
    headerOnly,
  ),
} as const;

/** Gateway path → codec (etcd 3.4 also serves every path under /v3beta). */
export type AnyConcurrencyCodec = { readonly name: ConcurrencyRpc; decode(body: string | Uint8Array): unknown; encode(response: never): string };
export const CONCURRENCY_PATHS: ReadonlyMap<string, AnyConcurrencyCodec> = new Map<string, AnyConcurrencyCodec>([
  ["/v3/lock/lock", concurrencyRpcs.Lock],
  ["/v3/lock/unlock", concurrencyRpcs.Unlock],
  ["/v3/election/campaign", concurrencyRpcs.Campaign],
  ["/v3/election/proclaim", concurrencyRpcs.Proclaim],
  ["/v3/election/leader", concurrencyRpcs.Leader],
  ["/v3/election/resign", concurrencyRpcs.Resign],
]);

export const OBSERVE_PATHS = ["/v3/election/observe", "/v3beta/election/observe"] as const;

/** Observe's request (one JSON value; etcd's server-stream handler). */
export function decodeObserveRequest(body: string | Uint8Array): LeaderRequest {
  return concurrencyRpcs.Leader.decode(body);
}

/** One streamed Observe message. */
export function encodeObserveMessage(r: LeaderResponse): string {
  return `{"result":${encodeLeaderResponse(r)}}\n`;
}
