// The Watch RPC over etcd's JSON gateway: WatchRequest decoding with the gateway's
// acceptance rules (a body or a WebSocket is a stream of JSON values), and WatchResponse
// encoding byte for byte as etcd 3.4's gateway writes it inside {"result":…}, plus the
// protobuf sizes etcd's fragmenting is measured in.
import { EtcdError, GrpcCode } from "../../server/errors.ts";
import type { Event, KeyValue } from "../../server/types.ts";
import type { ResponseSizer } from "../../server/watch/fragment.ts";
import type { WatchCreateRequest, WatchRequest, WatchResponse } from "../../server/watch/types.ts";
import { Doc, GoError, decoderReadValue, goJsonString, utf8Encode } from "./gojson.ts";
import { type DecodedMessage, type EnumDesc, type FieldDesc, type MessageDesc, unmarshalMessage } from "./jsonpb.ts";
import { varintSize } from "../../server/proto_size.ts";
import { encodeKeyValue } from "./responses.ts";

const f = (name: string, json: string, type: FieldDesc["type"], repeated = false): FieldDesc =>
  repeated ? { name, json, type, repeated } : { name, json, type };

const FILTER_TYPE: EnumDesc = { goType: "etcdserverpb.WatchCreateRequest_FilterType", names: ["NOPUT", "NODELETE"] };

export const WatchCreateRequestDesc: MessageDesc = {
  items: [
    f("key", "key", "bytes"),
    f("range_end", "rangeEnd", "bytes"),
    f("start_revision", "startRevision", "int64"),
    f("progress_notify", "progressNotify", "bool"),
    f("filters", "filters", { enum: FILTER_TYPE }, true),
    f("prev_kv", "prevKv", "bool"),
    f("watch_id", "watchId", "int64"),
    f("fragment", "fragment", "bool"),
  ],
};
export const WatchCancelRequestDesc: MessageDesc = { items: [f("watch_id", "watchId", "int64")] };
export const WatchProgressRequestDesc: MessageDesc = { items: [] };
export const WatchRequestDesc: MessageDesc = {
  items: [
    {
      oneof: "request_union",
      goType: "etcdserverpb.isWatchRequest_RequestUnion",
      members: [
        f("create_request", "createRequest", { message: () => WatchCreateRequestDesc }),
        f("cancel_request", "cancelRequest", { message: () => WatchCancelRequestDesc }),
        f("progress_request", "progressRequest", { message: () => WatchProgressRequestDesc }),
      ],
    },
  ],
};

const EMPTY = new Uint8Array(0);

function toCreate(m: DecodedMessage): WatchCreateRequest {
  const filters = (m.fields.get("filters") as number[] | undefined) ?? [];
  return {
    key: (m.fields.get("key") as Uint8Array | undefined) ?? EMPTY,
    rangeEnd: (m.fields.get("range_end") as Uint8Array | undefined) ?? EMPTY,
    startRevision: Number((m.fields.get("start_revision") as bigint | undefined) ?? 0n),
    progressNotify: (m.fields.get("progress_notify") as boolean | undefined) ?? false,
    filters,
    prevKv: (m.fields.get("prev_kv") as boolean | undefined) ?? false,
    watchId: Number((m.fields.get("watch_id") as bigint | undefined) ?? 0n),
    fragment: (m.fields.get("fragment") as boolean | undefined) ?? false,
  };
}

export function toWatchRequest(m: DecodedMessage): WatchRequest {
  const u = m.oneofs.get("request_union");
  if (!u) return { empty: true };
  const v = u.value as DecodedMessage;
  switch (u.member) {
    case "create_request":
      return { createRequest: toCreate(v) };
    case "cancel_request":
      return { cancelRequest: { watchId: Number((v.fields.get("watch_id") as bigint | undefined) ?? 0n) } };
    case "progress_request":
      return { progressRequest: {} };
  }
  return { empty: true };
}

/** The gRPC receive limit for one request: --max-request-bytes + 512 KiB. */
export const WATCH_REQUEST_LIMIT_BYTES = 1.5 * 1024 * 1024 + 512 * 1024;

export function watchRequestSize(r: WatchRequest): number {
  if ("createRequest" in r) {
    const c = r.createRequest;
    let n =
      bytesField(1, c.key) +
      bytesField(2, c.rangeEnd) +
      intField(3, c.startRevision) +
      boolField(4, c.progressNotify) +
      boolField(6, c.prevKv) +
      intField(7, c.watchId) +
      boolField(8, c.fragment);
    if (c.filters.length > 0) {
      let packed = 0;
      for (const x of c.filters) packed += varintSize(x);
      n += lenField(5, packed);
    }
    return lenField(1, n);
  }
  if ("cancelRequest" in r) return lenField(2, intField(1, r.cancelRequest.watchId));
  if ("progressRequest" in r) return lenField(3, 0);
  return 0;
}

export interface DecodedWatchStream {
  requests: WatchRequest[];
  /**
   * A value was not a request. As the stream's first value etcd answers the whole call with
   * this error; later, etcd stops reading the stream there (watches go on).
   */
  error?: EtcdError;
  stopped: boolean;
  /** Bytes after the last complete value when input ended inside a value. */
  rest: string;
}

/**
 * Reads a body (or the concatenated frames of a WebSocket) as the gateway's bidi stream
 * does: successive JSON values, each one WatchRequest. An incomplete last value is returned
 * in `rest` so the next frame can finish it.
 */
export function decodeWatchStream(text: string): DecodedWatchStream {
  const buf = utf8Encode(text);
  const doc = new Doc(buf);
  const requests: WatchRequest[] = [];
  let pos = 0;
  for (;;) {
    let v: ReturnType<typeof decoderReadValue>;
    try {
      v = decoderReadValue(buf, pos);
      if (v === null) return { requests, stopped: false, rest: "" };
      const req = toWatchRequest(unmarshalMessage(doc, doc.parse(v.start, v.end), WatchRequestDesc));
      const size = watchRequestSize(req);
      if (size > WATCH_REQUEST_LIMIT_BYTES) {
        throw new EtcdError(
          GrpcCode.ResourceExhausted,
          `grpc: received message larger than max (${size} vs. ${WATCH_REQUEST_LIMIT_BYTES})`,
        );
      }
      requests.push(req);
      pos = v.next;
    } catch (e) {
      if (e instanceof GoError && e.message === "unexpected EOF") {
        return { requests, stopped: false, rest: new TextDecoder().decode(buf.subarray(pos)) };
      }
      const err = e instanceof GoError ? new EtcdError(GrpcCode.Unknown, e.message) : e;
      if (!(err instanceof EtcdError)) throw e;
      return { requests, error: err, stopped: true, rest: "" };
    }
  }
}

// ---- responses -----------------------------------------------------------------------

export interface HeaderFields {
  clusterId: bigint;
  memberId: bigint;
  raftTerm: number;
}

function intText(v: number | bigint): string {
  return typeof v === "bigint" ? v.toString() : Number.isSafeInteger(v) ? String(v) : BigInt(Math.trunc(v)).toString();
}

function header(h: HeaderFields, revision: number): string {
  const parts: string[] = [];
  if (h.clusterId !== 0n) parts.push(`"cluster_id":"${h.clusterId}"`);
  if (h.memberId !== 0n) parts.push(`"member_id":"${h.memberId}"`);
  if (revision !== 0) parts.push(`"revision":"${intText(revision)}"`);
  if (h.raftTerm !== 0) parts.push(`"raft_term":"${intText(h.raftTerm)}"`);
  return `{${parts.join(",")}}`;
}

export function encodeEvent(e: Event): string {
  const parts: string[] = [];
  if (e.type === "DELETE") parts.push(`"type":"DELETE"`);
  parts.push(`"kv":${encodeKeyValue(e.kv)}`);
  if (e.prevKv) parts.push(`"prev_kv":${encodeKeyValue(e.prevKv)}`);
  return `{${parts.join(",")}}`;
}

/** The WatchResponse message as jsonpb writes it (no {"result":…} wrapper). */
export function encodeWatchResponseMessage(r: WatchResponse, h: HeaderFields): string {
  const parts = [`"header":${header(h, r.revision)}`];
  if (r.watchId !== 0) parts.push(`"watch_id":"${intText(r.watchId)}"`);
  if (r.created) parts.push(`"created":true`);
  if (r.canceled) parts.push(`"canceled":true`);
  if (r.compactRevision !== 0) parts.push(`"compact_revision":"${intText(r.compactRevision)}"`);
  if (r.cancelReason !== "") parts.push(`"cancel_reason":${goJsonString(r.cancelReason)}`);
  if (r.fragment) parts.push(`"fragment":true`);
  if (r.events.length > 0) parts.push(`"events":[${r.events.map(encodeEvent).join(",")}]`);
  return `{${parts.join(",")}}`;
}

/** One message of the gateway's stream: {"result":…} (the HTTP stream adds a newline). */
export function encodeWatchResult(r: WatchResponse, h: HeaderFields): string {
  return `{"result":${encodeWatchResponseMessage(r, h)}}`;
}

// ---- protobuf sizes (etcd fragments by WatchResponse.Size()) ---------------------------

const tagSize = (field: number) => varintSize(field << 3);
const intField = (field: number, v: number | bigint) => (BigInt(v) === 0n ? 0 : tagSize(field) + varintSize(v));
const boolField = (field: number, v: boolean) => (v ? tagSize(field) + 1 : 0);
const lenField = (field: number, len: number) => tagSize(field) + varintSize(len) + len;
const bytesField = (field: number, b: Uint8Array) => (b.length === 0 ? 0 : lenField(field, b.length));
const stringBytes = (s: string) => utf8Encode(s).length;

function keyValueSize(kv: KeyValue): number {
  return (
    bytesField(1, kv.key) +
    intField(2, kv.createRevision) +
    intField(3, kv.modRevision) +
    intField(4, kv.version) +
    bytesField(5, kv.value) +
    intField(6, kv.lease)
  );
}

function eventSize(e: Event): number {
  const n = (e.type === "DELETE" ? tagSize(1) + 1 : 0) + lenField(2, keyValueSize(e.kv)) + (e.prevKv ? lenField(3, keyValueSize(e.prevKv)) : 0);
  return lenField(11, n);
}

export function watchResponseSizer(h: HeaderFields): ResponseSizer {
  return {
    base(r) {
      const hdr = intField(1, h.clusterId) + intField(2, h.memberId) + intField(3, r.revision) + intField(4, h.raftTerm);
      return (
        lenField(1, hdr) +
        intField(2, r.watchId) +
        boolField(3, r.created) +
        boolField(4, r.canceled) +
        intField(5, r.compactRevision) +
        (r.cancelReason === "" ? 0 : lenField(6, stringBytes(r.cancelReason))) +
        boolField(7, r.fragment)
      );
    },
    event: eventSize,
  };
}
