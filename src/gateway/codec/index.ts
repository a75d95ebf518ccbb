// The JSON codec of etcd's grpc-gateway for the unary KV and Lease RPCs (and the one-message
// form of LeaseKeepAlive): paths as in etcd 3.4's rpc.proto annotations, request decoding
// with the gateway's exact acceptance and error texts, response encoding byte for byte.
//
// Usage (hono): look the path up in `rpcByPath`, `decode(new Uint8Array(await
// req.arrayBuffer()))` (throws an EtcdError; give it to `errorResponse`), call the server,
// `jsonResponse(encode(res))`.

import { EtcdError, GrpcCode } from "../../server/errors.ts";
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
  LeaseLeasesRequest,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  TxnRequest,
  TxnResponse,
} from "../../server/types.ts";
import { Doc, GoError, decoderReadValue, utf8Encode } from "./gojson.ts";
import { type DecodedMessage, type MessageDesc, unmarshalMessage } from "./jsonpb.ts";
import * as P from "../../server/proto_size.ts";
import * as Q from "./requests.ts";
import * as R from "./responses.ts";

export { GoError } from "./gojson.ts";

/** etcd's default --max-request-bytes (1.5 MiB). */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** etcd adds this to --max-request-bytes for gRPC's receive limit (grpcOverheadBytes). */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;

export interface DecodeOptions {
  /** The server's --max-request-bytes; the gRPC receive limit is this plus 512 KiB. */
  maxRequestBytes?: number;
}

export interface UnaryRpc<Req, Res> {
  readonly name: string;
  readonly service: "KV" | "Lease";
  /** Gateway paths, POST only; the first is the canonical one. */
  readonly paths: readonly string[];
  /**
   * Body → complete request, or throws an EtcdError carrying etcd's exact message. Pass the
   * raw bytes when you have them: Request.text() drops a leading BOM and replaces invalid
   * UTF-8, both of which etcd reports as errors of its own.
   */
  decode(body: string | Uint8Array, options?: DecodeOptions): Req;
  /** Response → the body etcd's gateway writes (no trailing newline). */
  encode(response: Res): string;
  /** Protobuf wire size of a request. */
  protoSize(request: Req): number;
}

export interface KeepAliveRpc extends UnaryRpc<LeaseKeepAliveRequest, LeaseKeepAliveResponse> {
  /**
   * The gateway's bidi-stream-over-HTTP reading of a body: every JSON value in it is one
   * request, in order. An empty body gives no request (etcd answers 200 with an empty body).
   * A bad first value throws (etcd answers 500, code 2 "Unknown", Go's message); a bad later
   * value silently ends the list.
   */
  decodeStream(body: string | Uint8Array): LeaseKeepAliveRequest[];
  /** One streamed message: `{"result":{...}}` followed by a newline. */
  encode(response: LeaseKeepAliveResponse): string;
}

function grpcLimit(options?: DecodeOptions): number {
  return (options?.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES) + GRPC_OVERHEAD_BYTES;
}

/** Reads the first JSON value of the body as `desc`, the way the unary gateway handlers do. */
function bodyBytes(body: string | Uint8Array): Uint8Array {
  return typeof body === "string" ? utf8Encode(body) : body;
}

function decodeBody(body: string | Uint8Array, desc: MessageDesc): DecodedMessage {
  const buf = bodyBytes(body);
  try {
    const v = decoderReadValue(buf, 0);
    const doc = new Doc(buf);
    if (v === null) return { fields: new Map(), oneofs: new Map() }; // io.EOF: empty request
    return unmarshalMessage(doc, doc.parse(v.start, v.end), desc);
  } catch (e) {
    if (e instanceof GoError) throw new EtcdError(GrpcCode.InvalidArgument, e.message);
    throw e;
  }
}

function unary<Req, Res>(
  name: string,
  service: "KV" | "Lease",
  paths: readonly string[],
  desc: MessageDesc,
  convert: (m: DecodedMessage) => Req,
  encode: (r: Res) => string,
  protoSize: (r: Req) => number,
): UnaryRpc<Req, Res> {
  return {
    name,
    service,
    paths,
    decode(body, options) {
      const req = convert(decodeBody(body, desc));
      const size = protoSize(req);
      const limit = grpcLimit(options);
      if (size > limit) {
        throw new EtcdError(
          GrpcCode.ResourceExhausted,
          `grpc: received message larger than max (${size} vs. ${limit})`,
        );
      }
      return req;
    },
    encode,
    protoSize,
  };
}

const keepAliveBase = unary<LeaseKeepAliveRequest, LeaseKeepAliveResponse>(
  "LeaseKeepAlive",
  "Lease",
  ["/v3/lease/keepalive"],
  Q.LeaseKeepAliveRequestDesc,
  Q.toLeaseKeepAliveRequest,
  (r) => `{"result":${R.encodeLeaseKeepAliveResponse(r)}}\n`,
  P.leaseKeepAliveRequestSize,
);

const LeaseKeepAlive: KeepAliveRpc = {
  ...keepAliveBase,
  decode(body) {
    const all = LeaseKeepAlive.decodeStream(body);
    return all[0] ?? { ID: 0n };
  },
  encode: keepAliveBase.encode,
  decodeStream(body) {
    const buf = bodyBytes(body);
    const doc = new Doc(buf);
    const out: LeaseKeepAliveRequest[] = [];
    let pos = 0;
    for (;;) {
      let req: LeaseKeepAliveRequest;
      try {
        const v = decoderReadValue(buf, pos);
        if (v === null) return out;
        pos = v.next;
        req = Q.toLeaseKeepAliveRequest(unmarshalMessage(doc, doc.parse(v.start, v.end), Q.LeaseKeepAliveRequestDesc));
      } catch (e) {
        if (!(e instanceof GoError)) throw e;
        // The stream handler returns the decode error unwrapped: gRPC code Unknown.
        if (out.length === 0) throw new EtcdError(GrpcCode.Unknown, e.message);
        return out;
      }
      out.push(req);
    }
  },
};

export const rpcs = {
  Range: unary<RangeRequest, RangeResponse>(
    "Range", "KV", ["/v3/kv/range"], Q.RangeRequestDesc, Q.toRangeRequest, R.encodeRangeResponse, P.rangeRequestSize,
  ),
  Put: unary<PutRequest, PutResponse>(
    "Put", "KV", ["/v3/kv/put"], Q.PutRequestDesc, Q.toPutRequest, R.encodePutResponse, P.putRequestSize,
  ),
  DeleteRange: unary<DeleteRangeRequest, DeleteRangeResponse>(
    "DeleteRange", "KV", ["/v3/kv/deleterange"], Q.DeleteRangeRequestDesc, Q.toDeleteRangeRequest,
    R.encodeDeleteRangeResponse, P.deleteRangeRequestSize,
  ),
  Txn: unary<TxnRequest, TxnResponse>(
    "Txn", "KV", ["/v3/kv/txn"], Q.TxnRequestDesc, Q.toTxnRequest, R.encodeTxnResponse, P.txnRequestSize,
  ),
  Compact: unary<CompactionRequest, CompactionResponse>(
    "Compact", "KV", ["/v3/kv/compaction"], Q.CompactionRequestDesc, Q.toCompactionRequest,
    R.encodeCompactionResponse, P.compactionRequestSize,
  ),
  // 3.4 has no /v3/kv/lease/grant (404); the other lease RPCs keep their /v3/kv/lease alias.
  LeaseGrant: unary<LeaseGrantRequest, LeaseGrantResponse>(
    "LeaseGrant", "Lease", ["/v3/lease/grant"], Q.LeaseGrantRequestDesc, Q.toLeaseGrantRequest,
    R.encodeLeaseGrantResponse, P.leaseGrantRequestSize,
  ),
  LeaseRevoke: unary<LeaseRevokeRequest, LeaseRevokeResponse>(
    "LeaseRevoke", "Lease", ["/v3/lease/revoke", "/v3/kv/lease/revoke"], Q.LeaseRevokeRequestDesc,
    Q.toLeaseRevokeRequest, R.encodeLeaseRevokeResponse, P.leaseRevokeRequestSize,
  ),
  LeaseTimeToLive: unary<LeaseTimeToLiveRequest, LeaseTimeToLiveResponse>(
    "LeaseTimeToLive", "Lease", ["/v3/lease/timetolive", "/v3/kv/lease/timetolive"], Q.LeaseTimeToLiveRequestDesc,
    Q.toLeaseTimeToLiveRequest, R.encodeLeaseTimeToLiveResponse, P.leaseTimeToLiveRequestSize,
  ),
  LeaseLeases: unary<LeaseLeasesRequest, LeaseLeasesResponse>(
    "LeaseLeases", "Lease", ["/v3/lease/leases", "/v3/kv/lease/leases"], Q.LeaseLeasesRequestDesc,
    Q.toLeaseLeasesRequest, R.encodeLeaseLeasesResponse, P.leaseLeasesRequestSize,
  ),
  LeaseKeepAlive,
} as const;

export type RpcName = keyof typeof rpcs;

/** Path → RPC, for every gateway path above (exact match; etcd also maps /v3beta/ to /v3/). */
export const rpcByPath: ReadonlyMap<string, (typeof rpcs)[RpcName]> = new Map(
  Object.values(rpcs).flatMap((r) => r.paths.map((p) => [p, r] as const)),
);

export {
  encodeHeader,
  encodeKeyValue,
  encodeRangeResponse,
  encodePutResponse,
  encodeDeleteRangeResponse,
  encodeTxnResponse,
} from "./responses.ts";
