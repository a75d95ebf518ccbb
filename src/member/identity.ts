// Cluster and member identity. A member's Durable Object is named "<cluster>/<member>";
// etcd's 64-bit cluster_id and member_id are derived from those names (FNV-1a 64), so
// every member computes the same IDs with no coordination and they survive restarts.

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;

export function fnv1a64(text: string): bigint {
  let h = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= BigInt(byte);
    h = (h * FNV_PRIME) & MASK64;
  }
  return h;
}

export interface MemberIdentity {
  clusterName: string;
  memberName: string;
  clusterId: bigint;
  memberId: bigint;
}

export function objectName(clusterName: string, memberName: string): string {
  return `${clusterName}/${memberName}`;
}

export function identityFromObjectName(name: string): MemberIdentity {
  const slash = name.lastIndexOf("/");
  if (slash <= 0) throw new Error(`member object name must be "<cluster>/<member>", got ${JSON.stringify(name)}`);
  const clusterName = name.slice(0, slash);
  const memberName = name.slice(slash + 1);
  return {
    clusterName,
    memberName,
    clusterId: fnv1a64(`cluster:${clusterName}`),
    memberId: fnv1a64(`member:${clusterName}/${memberName}`),
  };
}
