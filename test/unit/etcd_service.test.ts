// The member's request path in front of the log: etcd's refusals before proposing.
import { describe, expect, it } from "vitest";
import { LeaseIdGenerator } from "../../src/lease/lease_id.ts";
import { EtcdService } from "../../src/member/etcd_service.ts";
import { Applier } from "../../src/server/applier.ts";
import type { InternalRequest } from "../../src/server/internal_request.ts";
import { openMemoryDb } from "../support/node-sqlite.ts";

const enc = new TextEncoder();

function service(backlog: number, proposed: InternalRequest[]) {
  const applier = new Applier(openMemoryDb(), { minLeaseTtlSeconds: 2 });
  let seq = 0;
  return new EtcdService({
    applier,
    identity: { clusterName: "c", memberName: "m1", clusterId: 1n, memberId: 2n },
    leaseIds: new LeaseIdGenerator(2n, 0),
    maxRequestBytes: 1.5 * 1024 * 1024,
    raftTerm: () => 2,
    nowMs: () => 0,
    nextRequestId: () => ++seq,
    propose: (r) => {
      proposed.push(r);
      return Promise.resolve(applier.applyRequest(r));
    },
    readBarrier: () => Promise.resolve(),
    applyBacklog: () => backlog,
  });
}

const put = (value: Uint8Array) => ({ key: enc.encode("k"), value, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false });

describe("EtcdService", () => {
  it("refuses writes with etcd's 'too many requests' while apply lags commit by more than 5,000 entries", async () => {
    const proposed: InternalRequest[] = [];
    expect(await service(5001, proposed).unary("Put", put(enc.encode("v")))).toEqual({
      ok: false, code: 8, message: "etcdserver: too many requests",
    });
    expect(proposed).toEqual([]);
    expect((await service(5000, proposed).unary("Put", put(enc.encode("v")))).ok).toBe(true);
    expect(proposed).toHaveLength(1);
  });

  it("refuses a proposal over --max-request-bytes by etcd's count of the InternalRaftRequest", async () => {
    const proposed: InternalRequest[] = [];
    const limit = 1.5 * 1024 * 1024;
    // key (1 byte) + value + field tags and lengths + the request header: just over the limit
    const tooBig = await service(0, proposed).unary("Put", put(new Uint8Array(limit - 20)));
    expect(tooBig).toEqual({ ok: false, code: 3, message: "etcdserver: request is too large" });
    const fits = await service(0, proposed).unary("Put", put(new Uint8Array(limit - 40)));
    expect(fits.ok).toBe(true);
    expect(proposed).toHaveLength(1);
  });
});
