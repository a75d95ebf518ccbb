// Frames of the multiplexed browser socket (/v3/etcdo/stream): one JSON object per text
// frame, holding exactly one of
//   {"watch": <WatchRequest>}        → {"watch": <WatchResponse>} frames
//   {"keepalive": {"ID": "<id>"}}    → {"keepalive": <LeaseKeepAliveResponse>}
// in etcd's gateway JSON (the same field names, base64 bytes, int64 as strings, camelCase
// accepted). A frame that cannot be read is answered with
//   {"error": {"code": <gRPC code>, "message": "...", "ref": "..."}}
// and changes nothing else. The text frame "ping" is answered "pong" without waking the
// member (a hibernation auto-response). See docs/watch.md.
import { EtcdError, GrpcCode } from "../server/errors.ts";
import type { WatchRequest } from "../server/watch/types.ts";
import { Doc, GoError, decoderReadValue, goJsonString, utf8Encode } from "../gateway/codec/gojson.ts";
import { type MessageDesc, unmarshalMessage, type DecodedMessage } from "../gateway/codec/jsonpb.ts";
import { LeaseKeepAliveRequestDesc, toLeaseKeepAliveRequest } from "../gateway/codec/requests.ts";
import { WatchRequestDesc, WATCH_REQUEST_LIMIT_BYTES, toWatchRequest, watchRequestSize } from "../gateway/codec/watch.ts";

export const MUX_PING = "ping";
export const MUX_PONG = "pong";

const MuxFrameDesc: MessageDesc = {
  items: [
    {
      oneof: "frame",
      goType: "etcdo.MuxFrame",
      members: [
        { name: "watch", json: "watch", type: { message: () => WatchRequestDesc } },
        { name: "keepalive", json: "keepalive", type: { message: () => LeaseKeepAliveRequestDesc } },
      ],
    },
  ],
};

export type MuxFrame =
  | { watch: WatchRequest }
  | { keepalive: bigint }
  | { error: { code: number; message: string }; ref?: string };

export function decodeMuxFrame(text: string): MuxFrame {
  const buf = utf8Encode(text);
  try {
    const v = decoderReadValue(buf, 0);
    if (v === null) return bad("empty frame");
    if (decoderReadValue(buf, v.next) !== null) return bad("one JSON object per frame");
    const doc = new Doc(buf);
    const m = unmarshalMessage(doc, doc.parse(v.start, v.end), MuxFrameDesc);
    const u = m.oneofs.get("frame");
    if (!u) return bad('a frame holds "watch" or "keepalive"');
    if (u.member === "keepalive") {
      return { keepalive: toLeaseKeepAliveRequest(u.value as DecodedMessage).ID };
    }
    const watch = toWatchRequest(u.value as DecodedMessage);
    const size = watchRequestSize(watch);
    if (size > WATCH_REQUEST_LIMIT_BYTES) {
      return { error: { code: GrpcCode.ResourceExhausted, message: `grpc: received message larger than max (${size} vs. ${WATCH_REQUEST_LIMIT_BYTES})` } };
    }
    return { watch };
  } catch (e) {
    if (e instanceof GoError) return bad(e.message);
    if (e instanceof EtcdError) return { error: { code: e.code, message: e.message } };
    throw e;
  }
}

function bad(message: string): MuxFrame {
  return { error: { code: GrpcCode.InvalidArgument, message } };
}

export function encodeMuxError(code: number, message: string, ref?: string): string {
  const r = ref === undefined ? "" : `,"ref":${goJsonString(ref)}`;
  return `{"error":{"code":${code},"message":${goJsonString(message)}${r}}}`;
}
