// Leases: grant (TTL rounding up to the minimum, explicit IDs, ID conflicts, too large TTL,
// server-chosen IDs), revoke, timetolive with keys, leases, keepalive's one-message form.
import { it } from "vitest";
import { b64, describeConformance, useSession } from "./harness.ts";

describeConformance("conformance: Lease", () => {
  const s = useSession();

  const grant = (body: object, expectStatus: number) => s.post("/v3/lease/grant", body, { expectStatus });
  // Remaining TTLs count down in real time on each server: allow one second of difference.
  // The keys of a lease come back in Go map order: compared as a set.
  const ttl = { slackFields: ["TTL"], unorderedArrays: ["keys"] };

  it("grants with explicit IDs; TTLs below the minimum become 2 s", async () => {
    // Leases that would expire within the test are revoked right after they are looked at,
    // so that no expiry (decided by each server's own clock) races the requests.
    for (const [id, t] of [[11, 1], [12, 0], [13, -5], [14, 2], [15, 3]] as const) {
      await grant({ ID: id, TTL: t }, 200);
      await s.post("/v3/lease/timetolive", { ID: id }, { ...ttl, expectStatus: 200 });
      await s.post("/v3/lease/revoke", { ID: id }, { expectStatus: 200 });
    }
    for (const [id, t] of [[16, "60"], [17, 9_000_000_000]] as const) await grant({ ID: id, TTL: t }, 200);
    await grant({ ID: "-21", TTL: 30 }, 200);
    await grant({ ID: "9223372036854775807", TTL: 30 }, 200);
    await s.post("/v3/lease/timetolive", { ID: 16, keys: true }, { ...ttl, expectStatus: 200 });
  });

  it("remaining TTL is truncated to whole seconds (right after a grant: TTL - 1)", async () => {
    // No slack here: both servers answer well within a second of their grant.
    await grant({ ID: 71, TTL: 100 }, 200);
    await s.post("/v3/lease/timetolive", { ID: 71 }, { expectStatus: 200 });
    await s.post("/v3/lease/keepalive", { ID: 71 }, { expectStatus: 200 });
    await s.post("/v3/lease/timetolive", { ID: 71 }, { expectStatus: 200 });
  });

  it("refuses a used ID and a too large TTL", async () => {
    await grant({ ID: 31, TTL: 60 }, 200);
    await grant({ ID: 31, TTL: 60 }, 412);
    await grant({ ID: 32, TTL: "9000000001" }, 400);
    await grant({ TTL: "9223372036854775807" }, 400);
  });

  it("server-chosen IDs (compared through per-run aliases)", async () => {
    // etcd picks lease IDs at random; each target's own ID is remembered under an alias and
    // its replies are compared with the alias in place of the number.
    await s.post("/v3/lease/grant", { TTL: 120 }, { registerLease: "auto1", expectStatus: 200 });
    await s.post("/v3/lease/grant", "{}", { registerLease: "auto2", expectStatus: 200 });
    await s.post("/v3/kv/put", (c) => JSON.stringify({ key: b64("l3/a"), value: b64("v"), lease: c.lease("auto1") }), { expectStatus: 200 });
    await s.post("/v3/kv/range", { key: b64("l3/a") }, { expectStatus: 200 });
    await s.post("/v3/lease/timetolive", (c) => JSON.stringify({ ID: c.lease("auto1"), keys: true }), { ...ttl, expectStatus: 200 });
    await s.post("/v3/lease/revoke", (c) => JSON.stringify({ ID: c.lease("auto2") }), { expectStatus: 200 });
  });

  it("timetolive: keys, unknown leases, the /v3/kv/lease alias", async () => {
    await grant({ ID: 41, TTL: 100 }, 200);
    for (const k of ["l4/b", "l4/a", "l4/c"]) {
      await s.post("/v3/kv/put", { key: b64(k), value: b64("v"), lease: 41 }, { expectStatus: 200 });
    }
    await s.post("/v3/lease/timetolive", { ID: 41 }, { ...ttl, expectStatus: 200 });
    await s.post("/v3/lease/timetolive", { ID: "41", keys: true }, { ...ttl, expectStatus: 200 });
    await s.post("/v3/kv/lease/timetolive", { ID: 41, keys: true }, { ...ttl, expectStatus: 200 });
    await s.post("/v3/lease/timetolive", { ID: 4242, keys: true }, { expectStatus: 200 });
    await s.post("/v3/lease/timetolive", {}, { expectStatus: 200 });
  });

  it("revoke deletes attached keys at one revision; unknown leases are 404", async () => {
    await grant({ ID: 51, TTL: 100 }, 200);
    await grant({ ID: 52, TTL: 100 }, 200);
    await s.post("/v3/kv/put", { key: b64("l5/a"), value: b64("v"), lease: 51 }, { expectStatus: 200 });
    await s.post("/v3/kv/put", { key: b64("l5/b"), value: b64("v"), lease: 51 }, { expectStatus: 200 });
    await s.post("/v3/lease/revoke", { ID: 51 }, { expectStatus: 200 });
    await s.post("/v3/kv/range", { key: b64("l5/"), range_end: b64("l5/z") }, { expectStatus: 200 });
    await s.post("/v3/lease/revoke", { ID: 51 }, { expectStatus: 404 });
    await s.post("/v3/kv/lease/revoke", { ID: 52 }, { expectStatus: 200 }); // no keys: no new revision
    await s.post("/v3/lease/revoke", {}, { expectStatus: 404 });
    await s.post("/v3/lease/timetolive", { ID: 51 }, { expectStatus: 200 });
    await s.post("/v3/kv/put", { key: b64("l5/a"), value: b64("v"), lease: 51 }, { expectStatus: 404 });
  });

  it("leases lists every lease (order is Go map order, so compared as a set)", async () => {
    await s.post("/v3/lease/leases", {}, { unorderedArrays: ["leases"], expectStatus: 200 });
    await s.post("/v3/kv/lease/leases", "", { unorderedArrays: ["leases"], expectStatus: 200 });
  });

  it("keepalive, one message per JSON value in the body", async () => {
    await grant({ ID: 61, TTL: 50 }, 200);
    await s.post("/v3/lease/keepalive", { ID: 61 }, { expectStatus: 200 });
    await s.post("/v3/lease/keepalive", { ID: 6161 }, { expectStatus: 200 });
    await s.post("/v3/lease/keepalive", '{"ID":"61"}{"ID":"6161"}', { expectStatus: 200 });
    await s.post("/v3/lease/keepalive", "", { expectStatus: 200 });
    await s.post("/v3/lease/keepalive", '{"ID":"x"}', { expectStatus: 500 });
    await s.post("/v3/lease/keepalive", '{"ID":"61"} junk', { expectStatus: 200 });
  });

  it("no /v3/kv/lease/grant alias in 3.4", async () => {
    await s.post("/v3/kv/lease/grant", { TTL: 5 }, { expectStatus: 404 });
  });
});
