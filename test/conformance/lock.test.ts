// Lock service (v3lock) side by side with etcd 3.4: the key that is held, relocking with the
// same lease, unknown leases, unlock of any key, bad bodies. Lease IDs are explicit so that
// the keys (`<name>/<lease hex>`) are the same on both servers; waiting is in test/cluster.
import { it } from "vitest";
import { b64, describeConformance, useSession } from "./harness.ts";

describeConformance("conformance: Lock", () => {
  const s = useSession();

  it("locks: the held key is name/<lease hex>; the same lease locks again at once", async () => {
    await s.post("/v3/lease/grant", { ID: 0x1a2b, TTL: 60 }, { expectStatus: 200 });
    await s.post("/v3/lock/lock", { name: b64("lk1"), lease: 0x1a2b }, { expectStatus: 200 });
    await s.post("/v3/lock/lock", { name: b64("lk1"), lease: "6699" }, { expectStatus: 200 });
    await s.post("/v3/kv/range", { key: b64("lk1/"), range_end: b64("lk10") }, { expectStatus: 200 });
    await s.post("/v3beta/lock/lock", { name: b64("lk2"), lease: 0x1a2b }, { expectStatus: 200 });
    await s.post("/v3/lease/timetolive", { ID: 0x1a2b, keys: true }, { slackFields: ["TTL"], unorderedArrays: ["keys"], expectStatus: 200 });
  });

  it("unlock deletes the key (any key, existing or not)", async () => {
    await s.post("/v3/lease/grant", { ID: 0x2c, TTL: 60 }, { expectStatus: 200 });
    await s.post("/v3/lock/lock", { name: b64("lk3"), lease: 0x2c }, { expectStatus: 200 });
    await s.post("/v3/lock/unlock", { key: b64("lk3/2c") }, { expectStatus: 200 });
    await s.post("/v3/kv/range", { key: b64("lk3/2c") }, { expectStatus: 200 });
    await s.post("/v3/lock/unlock", { key: b64("nothing-here") }, { expectStatus: 200 });
  });

  it("refusals: unknown lease, no key to unlock, bad bodies, GET", async () => {
    await s.post("/v3/lock/lock", { name: b64("lk4"), lease: 777 }, { expectStatus: 500 });
    await s.post("/v3/lock/unlock", {}, { expectStatus: 500 });
    await s.post("/v3/lock/lock", '{"name":', { expectStatus: 400 });
    await s.post("/v3/lock/lock", '{"name":"***"}', { expectStatus: 400 });
    await s.post("/v3/lock/lock", '{"lease":"x"}', { expectStatus: 400 });
    await s.step("GET", "/v3/lock/lock", undefined, { expectStatus: 405 });
  });
});
