// etcd refuses a proposal whose marshalled InternalRaftRequest exceeds --max-request-bytes
// (1.5 MiB). This estimates the protobuf size of a request value the way proto3 would encode
// it (field tag + length prefix per present field, zero values omitted), which is within a
// few bytes of etcd's own count.

function varintBytes(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

export function protoSizeBytes(value: unknown): number {
  if (value instanceof Uint8Array) return value.length === 0 ? 0 : 1 + varintBytes(value.length) + value.length;
  if (typeof value === "number") return value === 0 ? 0 : 1 + varintBytes(Math.abs(value));
  if (typeof value === "bigint") return value === 0n ? 0 : 1 + varintBytes(Number(value < 0n ? -value : value));
  if (typeof value === "boolean") return value ? 2 : 0;
  if (typeof value === "string") return 2;
  if (Array.isArray(value)) return value.reduce((sum: number, v) => sum + Math.max(protoSizeBytes(v), 2), 0);
  if (value && typeof value === "object") {
    let inner = 0;
    for (const v of Object.values(value)) inner += protoSizeBytes(v);
    return 1 + varintBytes(inner) + inner;
  }
  return 0;
}
