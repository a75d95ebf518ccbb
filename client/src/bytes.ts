// Byte helpers built on web-standard APIs only (TextEncoder, btoa/atob), so the client runs
// unchanged in browsers, Node and Workers. etcd keys and values are raw bytes, ordered as
// unsigned bytes (memcmp).

/** Anything the client accepts where etcd expects bytes: text is encoded as UTF-8. */
export type Bytes = string | Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const EMPTY = new Uint8Array(0);

export function toBytes(b: Bytes): Uint8Array {
  return typeof b === "string" ? encoder.encode(b) : b;
}

export function toText(b: Uint8Array): string {
  return decoder.decode(b);
}

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}

/**
 * The range end that selects every key with this prefix (clientv3.GetPrefixRangeEnd):
 * increment the last byte below 0xff and cut after it. An empty or all-0xff prefix gives
 * "\0", which as a range end means "to the end of the keyspace".
 */
export function prefixEnd(prefix: Bytes): Uint8Array {
  const end = toBytes(prefix).slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.slice(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}

/** Standard padded base64, as etcd's gateway reads and writes bytes fields. */
export function toBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) {
    s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

export function fromBase64(s: string | undefined): Uint8Array {
  if (!s) return EMPTY;
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
