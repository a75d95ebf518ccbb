// The JSON codec of etcd 3.4's Cluster service on the gateway (/v3/cluster/member/*):
// request decoding with jsonpb's acceptance and Go's error texts, and the responses as etcd's
// gateway writes them (header without revision, isLearner only when true, member IDs as
// decimal strings, a member without a name or client URLs until it has started).
import { EtcdError, GrpcCode } from "../../server/errors.ts";
import type { MemberRecord } from "../../server/membership.ts";
import type {
  MemberAddRequest,
  MemberAddResponse,
  MemberIdRequest,
  MemberUpdateRequest,
  MembersResponse,
} from "../../member/cluster_admin.ts";
import {
  Doc,
  GoError,
  UINT64,
  type Node,
  decoderReadValue,
  goJsonString,
  unmarshalBool,
  unmarshalEnumNumber,
  unmarshalQuotedInt,
  unmarshalRawList,
  unmarshalRawMap,
  unquoteBytes,
  utf8Decode,
  utf8Encode,
  goQuote,
} from "./gojson.ts";
import { Obj, encodeHeader } from "./responses.ts";

// ---- decoding: a flat message reader in jsonpb's manner ----

/** A message's fields, each found under its proto name or its JSON name (the JSON name wins). */
export class Fields {
  private readonly doc: Doc;
  private readonly obj: Map<string, Node>;

  constructor(doc: Doc, obj: Map<string, Node>) {
    this.doc = doc;
    this.obj = obj;
  }

  private take(name: string, json: string): Node | undefined {
    let raw: Node | undefined;
    if (this.obj.has(name)) raw = this.obj.get(name);
    if (this.obj.has(json)) raw = this.obj.get(json);
    this.obj.delete(name);
    this.obj.delete(json);
    return raw;
  }

  uint64(name: string, json = name): bigint {
    const n = this.take(name, json);
    return n === undefined || n.kind === "null" ? 0n : unmarshalQuotedInt(this.doc, n, UINT64);
  }

  int64(name: string, json = name): number {
    const n = this.take(name, json);
    return n === undefined || n.kind === "null" ? 0 : Number(unmarshalQuotedInt(this.doc, n, { goType: "int64", bits: 64, signed: true }));
  }

  bool(name: string, json = name): boolean {
    const n = this.take(name, json);
    return n === undefined ? false : unmarshalBool(n);
  }

  strings(name: string, json = name): string[] {
    const n = this.take(name, json);
    if (n === undefined) return [];
    const items = unmarshalRawList(n);
    if (items === null) return [];
    return items.map((it) => {
      if (it.kind === "null") return "";
      if (it.kind !== "string") throw new GoError(`json: cannot unmarshal ${it.kind} into Go value of type string`);
      return utf8Decode(unquoteBytes(this.doc.buf, it.start, it.end));
    });
  }

  enumOf(name: string, json: string, goType: string, names: readonly string[]): number {
    const n = this.take(name, json);
    if (n === undefined || n.kind === "null") return 0;
    if (n.kind === "string") {
      const inner = this.doc.buf.subarray(n.start + 1, n.end - 1);
      let text = "";
      for (const b of inner) text += String.fromCharCode(b);
      const i = names.indexOf(text);
      if (i < 0) throw new GoError(`unknown value ${goQuote(inner)} for enum ${goType}`);
      return i;
    }
    return unmarshalEnumNumber(this.doc, n, goType);
  }
}

/** Reads the body's first JSON value as a message, as the unary gateway handlers do. */
export function decodeFields<T>(body: string | Uint8Array, read: (f: Fields) => T): T {
  const buf = typeof body === "string" ? utf8Encode(body) : body;
  try {
    const v = decoderReadValue(buf, 0);
    const doc = new Doc(buf);
    const obj = v === null ? new Map<string, Node>() : (unmarshalRawMap(doc.parse(v.start, v.end)) ?? new Map<string, Node>());
    return read(new Fields(doc, obj));
  } catch (e) {
    if (e instanceof GoError) throw new EtcdError(GrpcCode.InvalidArgument, e.message);
    throw e;
  }
}

export function decodeMemberAddRequest(body: string | Uint8Array): MemberAddRequest {
  return decodeFields(body, (f) => ({ peerURLs: f.strings("peerURLs"), isLearner: f.bool("isLearner") }));
}

export function decodeMemberIdRequest(body: string | Uint8Array): MemberIdRequest {
  return decodeFields(body, (f) => ({ ID: f.uint64("ID") }));
}

export function decodeMemberUpdateRequest(body: string | Uint8Array): MemberUpdateRequest {
  return decodeFields(body, (f) => ({ ID: f.uint64("ID"), peerURLs: f.strings("peerURLs") }));
}

/** MemberListRequest has no field in 3.4 (3.5's linearizable is ignored as unknown). */
export function decodeEmptyRequest(body: string | Uint8Array): Record<string, never> {
  return decodeFields(body, () => ({}));
}

// ---- encoding ----

const strings = (xs: readonly string[]) => xs.map(goJsonString);

export function encodeMember(m: Pick<MemberRecord, "id" | "name" | "peerURLs" | "clientURLs" | "isLearner">): string {
  return new Obj()
    .int("ID", m.id)
    .string("name", m.name)
    .list("peerURLs", strings(m.peerURLs))
    .list("clientURLs", strings(m.clientURLs))
    .bool("isLearner", m.isLearner)
    .toString();
}

export function encodeMembersResponse(r: MembersResponse): string {
  return new Obj().msg("header", encodeHeader(r.header)).list("members", r.members.map(encodeMember)).toString();
}

/** etcd answers the added member with only its ID, peer URLs and learner flag. */
export function encodeMemberAddResponse(r: MemberAddResponse): string {
  const added = { ...r.member, name: "", clientURLs: [] };
  return new Obj()
    .msg("header", encodeHeader(r.header))
    .msg("member", encodeMember(added))
    .list("members", r.members.map(encodeMember))
    .toString();
}
