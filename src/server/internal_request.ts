// What a member proposes through raft (etcd's InternalRaftRequest) and its byte encoding
// for the log. Every request carries the proposer's request `id` so the proposing member
// can hand the apply result back to the waiting client.
//
// Encoding: [u32 BE length of JSON][JSON][bytes blobs]. In the JSON, every Uint8Array is
// {"$b":[offset,length]} into the blob section (raw, not base64: a 1.5 MiB value stays
// 1.5 MiB in the log row) and every bigint is {"$n":"decimal"}. Decoding round-trips
// exactly, including empty objects (an empty RequestOp / compare target).
import type { CompactionRequest, DeleteRangeRequest, LeaseGrantRequest, LeaseRevokeRequest, PutRequest, TxnRequest } from "./types.ts";

export interface LeaseCheckpoint {
  ID: bigint;
  remainingTtlSeconds: number;
}
export interface LeaseCheckpointRequest {
  checkpoints: LeaseCheckpoint[];
}

export type InternalRequest =
  | { op: "put"; id: number; request: PutRequest }
  | { op: "deleteRange"; id: number; request: DeleteRangeRequest }
  | { op: "txn"; id: number; request: TxnRequest }
  | { op: "compaction"; id: number; request: CompactionRequest }
  /** request.ID is already chosen (never 0) by the proposing member. */
  | { op: "leaseGrant"; id: number; request: LeaseGrantRequest }
  /**
   * leaderTerm is set on the revokes a leader proposes for expired leases: the term in which
   * it decided the expiry. Apply ignores such a revoke unless the entry was appended in that
   * same term, so only the leadership that ran the lease's clock can expire it.
   */
  | { op: "leaseRevoke"; id: number; request: LeaseRevokeRequest; leaderTerm?: number }
  | { op: "leaseCheckpoint"; id: number; request: LeaseCheckpointRequest };

export type InternalOp = InternalRequest["op"];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeInternalRequest(r: InternalRequest): Uint8Array {
  const blobs: Uint8Array[] = [];
  let blobBytes = 0;
  const json = JSON.stringify(r, (_k, v: unknown) => {
    if (v instanceof Uint8Array) {
      const ref = { $b: [blobBytes, v.length] };
      blobs.push(v);
      blobBytes += v.length;
      return ref;
    }
    if (typeof v === "bigint") return { $n: v.toString() };
    return v;
  });
  const head = encoder.encode(json);
  const out = new Uint8Array(4 + head.length + blobBytes);
  new DataView(out.buffer).setUint32(0, head.length);
  out.set(head, 4);
  let off = 4 + head.length;
  for (const b of blobs) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}

export function decodeInternalRequest(data: Uint8Array): InternalRequest {
  if (data.length < 4) throw new Error("internal request: truncated");
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const headLen = view.getUint32(0);
  if (4 + headLen > data.length) throw new Error("internal request: truncated");
  const blobStart = 4 + headLen;
  const json = decoder.decode(data.subarray(4, blobStart));
  // A walk after a plain parse: about 5x faster than a JSON.parse reviver, and every
  // member decodes every entry it applies.
  return revive(JSON.parse(json), data, blobStart) as InternalRequest;
}

function revive(v: unknown, data: Uint8Array, blobStart: number): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = revive(v[i], data, blobStart);
    return v;
  }
  const o = v as Record<string, unknown>;
  if ("$b" in o) {
    const [off, len] = o.$b as [number, number];
    if (blobStart + off + len > data.length) throw new Error("internal request: blob out of range");
    return data.slice(blobStart + off, blobStart + off + len);
  }
  if ("$n" in o) return BigInt(o.$n as string);
  for (const k of Object.keys(o)) o[k] = revive(o[k], data, blobStart);
  return o;
}
