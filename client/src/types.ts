// Decoded gateway messages. int64 revisions, versions and counts become numbers (revisions stay
// far below 2^53); 64-bit IDs (cluster, member, lease) stay decimal strings because they do not
// fit a double. Bytes fields become Uint8Array, with the namespace prefix removed from keys.

import { EMPTY, fromBase64, startsWith, toText } from "./bytes.ts";

/** A 64-bit lease ID as a decimal string ("0" = no lease). */
export type LeaseId = string;
/** What the client accepts for a lease ID. Numbers must be safe integers. */
export type LeaseIdLike = string | bigint | number;

export function leaseIdString(id: LeaseIdLike): LeaseId {
  if (typeof id === "bigint") return id.toString();
  if (typeof id === "number") {
    if (!Number.isSafeInteger(id)) throw new RangeError(`lease ID ${id} is not a safe integer; pass a string or bigint`);
    return String(id);
  }
  if (!/^-?\d+$/.test(id)) throw new RangeError(`lease ID ${JSON.stringify(id)} is not a decimal integer (use leaseIdFromHex for hex)`);
  return BigInt(id).toString();
}

/** etcdctl prints lease IDs as 16 hex digits (%016x). */
export function leaseIdToHex(id: LeaseIdLike): string {
  return BigInt.asUintN(64, BigInt(leaseIdString(id))).toString(16).padStart(16, "0");
}

export function leaseIdFromHex(hex: string): LeaseId {
  if (!/^(0x)?[0-9a-f]{1,16}$/i.test(hex)) throw new RangeError(`bad lease ID ${JSON.stringify(hex)}, expecting ID in hex`);
  return BigInt.asIntN(64, BigInt(hex.startsWith("0x") || hex.startsWith("0X") ? hex : `0x${hex}`)).toString();
}

export interface ResponseHeader {
  clusterId: string;
  memberId: string;
  revision: number;
  raftTerm: number;
}

export class KeyValue {
  key: Uint8Array;
  value: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: LeaseId;

  constructor(init: { key: Uint8Array; value?: Uint8Array; createRevision?: number; modRevision?: number; version?: number; lease?: LeaseId }) {
    this.key = init.key;
    this.value = init.value ?? EMPTY;
    this.createRevision = init.createRevision ?? 0;
    this.modRevision = init.modRevision ?? 0;
    this.version = init.version ?? 0;
    this.lease = init.lease ?? "0";
  }

  /** The key as UTF-8 text. */
  get keyString(): string {
    return toText(this.key);
  }

  /** The value as UTF-8 text. */
  get valueString(): string {
    return toText(this.value);
  }

  /** The value parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(toText(this.value)) as T;
  }
}

// ---- raw gateway shapes (snake_case, int64 as strings) and their decoders ----

export type RawHeader = { cluster_id?: string; member_id?: string; revision?: string; raft_term?: string };
export type RawKv = { key?: string; create_revision?: string; mod_revision?: string; version?: string; value?: string; lease?: string };

export const num = (s: string | number | undefined): number => (s === undefined ? 0 : Number(s));
export const id64 = (s: string | number | undefined): string => (s === undefined ? "0" : String(s));

export function decodeHeader(h: RawHeader | undefined): ResponseHeader {
  return { clusterId: id64(h?.cluster_id), memberId: id64(h?.member_id), revision: num(h?.revision), raftTerm: num(h?.raft_term) };
}

export function stripPrefix(key: Uint8Array, prefix: Uint8Array): Uint8Array {
  return prefix.length > 0 && startsWith(key, prefix) ? key.subarray(prefix.length) : key;
}

export function decodeKv(r: RawKv, prefix: Uint8Array): KeyValue {
  return new KeyValue({
    key: stripPrefix(fromBase64(r.key), prefix),
    value: fromBase64(r.value),
    createRevision: num(r.create_revision),
    modRevision: num(r.mod_revision),
    version: num(r.version),
    lease: id64(r.lease),
  });
}

export function fromBase64Key(k: string | undefined, prefix: Uint8Array): Uint8Array {
  return stripPrefix(fromBase64(k), prefix);
}
