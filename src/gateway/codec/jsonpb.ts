// The request side of golang/protobuf's legacy jsonpb Unmarshaler (reflection-based, as
// linked into Debian's etcd 3.4.23), driven by small message descriptors instead of Go
// struct reflection. What it reproduces:
// - fields are visited in Go struct order (= .proto declaration order); a oneof's wrapper
//   field sits at its declaration position and its members are visited after all plain
//   fields, so errors come out in the same order as etcd's;
// - a field is found under its proto name or its lowerCamelCase JSON name; when both are
//   present the JSON name wins; other keys are ignored; JSON object keys are unescaped and a
//   repeated key keeps its last value;
// - int64 accepts a number or a string (quotes stripped without unescaping); enums accept a
//   name (raw bytes between the quotes, not unescaped) or a number; bytes are base64 (Go
//   StdEncoding, padding required, '\r' and '\n' ignored) or an array of byte numbers;
// - null leaves a field at its default; a null message member of a oneof leaves the oneof
//   unset (that is what reaches etcd over gRPC).
//
// Known divergences, kept on purpose:
// - A null element inside a repeated message field (`"compare":[null]`) makes etcd's gateway
//   panic and drop the connection; we decode it as an empty message.
// - With two members of one oneof present, etcd picks one at random (Go map order); we keep
//   the one declared last.

import {
  Doc,
  GoError,
  INT64,
  type Node,
  goQuote,
  unmarshalBool,
  unmarshalBytes,
  unmarshalEnumNumber,
  unmarshalIntoInterface,
  unmarshalQuotedInt,
  unmarshalRawList,
  unmarshalRawMap,
} from "./gojson.ts";

export interface EnumDesc {
  /** Go type name, as it appears in etcd's error messages. */
  goType: string;
  /** Value names indexed by number. */
  names: readonly string[];
}

export type FieldType = "int64" | "bool" | "bytes" | { enum: EnumDesc } | { message: () => MessageDesc };

export interface FieldDesc {
  name: string;
  json: string;
  type: FieldType;
  repeated?: boolean;
}

export interface OneofDesc {
  oneof: string;
  /** Go type of the oneof's interface field (etcdserverpb.isCompare_TargetUnion). */
  goType: string;
  members: FieldDesc[];
}

export interface MessageDesc {
  items: (FieldDesc | OneofDesc)[];
}

export type Value = bigint | boolean | Uint8Array | number | DecodedMessage | Value[];

export interface DecodedMessage {
  /** Plain fields that were present and not null (proto name → value). */
  fields: Map<string, Value>;
  /** Oneof name → the member set (by proto name) and its value; absent when unset. */
  oneofs: Map<string, { member: string; value: Value }>;
}

const isOneof = (i: FieldDesc | OneofDesc): i is OneofDesc => "oneof" in i;

/** Unmarshals one JSON value (already checked by the scanner) as the message `desc`. */
export function unmarshalMessage(doc: Doc, node: Node, desc: MessageDesc): DecodedMessage {
  const out: DecodedMessage = { fields: new Map(), oneofs: new Map() };
  const obj = unmarshalRawMap(node) ?? new Map<string, Node>();
  const consume = (orig: string, camel: string): Node | undefined => {
    let raw: Node | undefined;
    if (obj.has(orig)) {
      raw = obj.get(orig);
      obj.delete(orig);
    }
    if (obj.has(camel)) {
      raw = obj.get(camel);
      obj.delete(camel);
    }
    return raw;
  };

  for (const item of desc.items) {
    if (isOneof(item)) {
      const raw = consume(item.oneof, item.oneof);
      if (raw !== undefined) unmarshalIntoInterface(raw, item.goType);
      continue;
    }
    const raw = consume(item.name, item.json);
    if (raw === undefined) continue;
    const v = unmarshalField(doc, raw, item);
    if (v !== undefined) out.fields.set(item.name, v);
  }
  for (const item of desc.items) {
    if (!isOneof(item)) continue;
    for (const member of item.members) {
      const raw = consume(member.name, member.json);
      if (raw === undefined) continue;
      const v = unmarshalField(doc, raw, member);
      if (v === undefined) out.oneofs.delete(item.oneof);
      else out.oneofs.set(item.oneof, { member: member.name, value: v });
    }
  }
  return out;
}

/** One field's value; undefined when null left it unset. */
function unmarshalField(doc: Doc, raw: Node, f: FieldDesc): Value | undefined {
  if (f.repeated) {
    const items = unmarshalRawList(raw);
    if (items === null) return undefined;
    return items.map((it) => unmarshalSingular(doc, it, f.type) ?? emptyOf(f.type));
  }
  return unmarshalSingular(doc, raw, f.type);
}

function emptyOf(t: FieldType): Value {
  if (typeof t === "object" && "message" in t) return { fields: new Map(), oneofs: new Map() };
  throw new Error("jsonpb: only message lists may hold null");
}

function unmarshalSingular(doc: Doc, raw: Node, t: FieldType): Value | undefined {
  if (t === "int64") return unmarshalQuotedInt(doc, raw, INT64);
  if (t === "bool") return unmarshalBool(raw);
  if (t === "bytes") return unmarshalBytes(doc, raw);
  if ("enum" in t) {
    if (raw.kind === "string") {
      const inner = doc.buf.subarray(raw.start + 1, raw.end - 1);
      let name = "";
      for (const b of inner) name += String.fromCharCode(b);
      const n = t.enum.names.indexOf(name);
      if (n < 0) throw new GoError(`unknown value ${goQuote(inner)} for enum ${t.enum.goType}`);
      return n;
    }
    return unmarshalEnumNumber(doc, raw, t.enum.goType);
  }
  if (raw.kind === "null") return undefined;
  return unmarshalMessage(doc, raw, t.message());
}
