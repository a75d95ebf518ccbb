// Put (prev_kv, leases, ignore_value, ignore_lease) and DeleteRange (single, range, prefix,
// from-key, prev_kv, deleted count, no revision bump when nothing is deleted).
import { it } from "vitest";
import { b64, describeConformance, useSession, prefixEnd } from "./harness.ts";

describeConformance("conformance: Put and DeleteRange", () => {
  const s = useSession();

  const put = (body: object, expectStatus?: number) =>
    s.post("/v3/kv/put", body, expectStatus === undefined ? {} : { expectStatus });
  const del = (body: object, expectStatus?: number) =>
    s.post("/v3/kv/deleterange", body, expectStatus === undefined ? {} : { expectStatus });
  const get = (key: string, extra: object = {}) => s.post("/v3/kv/range", { key: b64(key), ...extra }, { expectStatus: 200 });

  it("creates, overwrites and returns prev_kv", async () => {
    await put({ key: b64("p1/a"), value: b64("1"), prev_kv: true }, 200);
    await put({ key: b64("p1/a"), value: b64("2"), prev_kv: true }, 200);
    await put({ key: b64("p1/a"), value: b64("3") }, 200);
    await put({ key: b64("p1/a"), prevKv: true }, 200);
    await put({ key: b64("p1/b"), value: "" }, 200);
    await put({ key: b64("p1/\0\xff"), value: b64("\0\x01\xfe\xff"), prev_kv: true }, 200);
    await get("p1/a");
    await get("p1/\0\xff");
  });

  it("attaches leases; an unknown lease is refused without a revision bump", async () => {
    await s.post("/v3/lease/grant", { TTL: 600, ID: 7001 }, { expectStatus: 200 });
    await put({ key: b64("p2/a"), value: b64("v"), lease: "7001" }, 200);
    await put({ key: b64("p2/a"), value: b64("w"), lease: 7001, prev_kv: true }, 200);
    await put({ key: b64("p2/b"), value: b64("v"), lease: "7999" }, 404);
    await put({ key: b64("p2/a"), value: b64("v"), lease: "-1" }, 404);
    await get("p2/a");
    await put({ key: b64("p2/a"), value: b64("x"), prev_kv: true }, 200); // detaches the lease
    await s.post("/v3/lease/timetolive", { ID: 7001, keys: true }, { slackFields: ["TTL"], expectStatus: 200 });
  });

  it("ignore_value and ignore_lease, with their errors", async () => {
    await s.post("/v3/lease/grant", { TTL: 600, ID: 7002 }, { expectStatus: 200 });
    await s.post("/v3/lease/grant", { TTL: 600, ID: 7003 }, { expectStatus: 200 });
    await put({ key: b64("p3/a"), value: b64("keep"), lease: 7002 }, 200);
    await put({ key: b64("p3/a"), ignore_value: true, prev_kv: true }, 200); // drops the lease
    await put({ key: b64("p3/a"), ignore_value: true, lease: 7003, prev_kv: true }, 200);
    await put({ key: b64("p3/a"), value: b64("new"), ignore_lease: true, prev_kv: true }, 200);
    await put({ key: b64("p3/a"), ignoreValue: true, ignoreLease: true, prev_kv: true }, 200);
    await get("p3/a");
    await put({ key: b64("p3/a"), value: b64("x"), ignore_value: true }, 400);
    await put({ key: b64("p3/a"), lease: 7002, ignore_lease: true }, 400);
    await put({ key: b64("p3/a"), value: b64("x"), lease: 7002, ignore_value: true, ignore_lease: true }, 400);
    await put({ key: b64("p3/missing"), ignore_value: true }, 400);
    await put({ key: b64("p3/missing"), value: b64("x"), ignore_lease: true }, 400);
    await put({ key: b64("p3/missing"), ignore_value: true, lease: 7999 }, 404);
    await get("p3/missing");
  });

  it("refuses an empty key", async () => {
    await put({ value: b64("x") }, 400);
    await put({ key: "", value: b64("x") }, 400);
    await put({}, 400);
    await del({}, 400);
    await del({ key: "", range_end: b64("z") }, 400);
  });

  it("deletes single keys, ranges, prefixes and from-key, with prev_kv and counts", async () => {
    for (const k of ["d/a", "d/b", "d/ba", "d/c", "d/d", "d/e", "d/f", "e/x"]) {
      await put({ key: b64(k), value: b64(k) }, 200);
    }
    await del({ key: b64("d/a") }, 200);
    await del({ key: b64("d/a") }, 200); // nothing deleted: same revision
    await del({ key: b64("d/zz"), prev_kv: true }, 200);
    await del({ key: b64("d/b"), range_end: b64("d/c"), prev_kv: true }, 200);
    await del({ key: b64("d/c"), range_end: b64(prefixEnd("d/c")) }, 200);
    await del({ key: b64("d/d"), range_end: b64("d/a") }, 200); // inverted: nothing
    await del({ key: b64("d/e"), range_end: b64("\0"), prev_kv: true }, 200); // from-key
    await s.post("/v3/kv/range", { key: b64("\0"), range_end: b64("\0") }, { expectStatus: 200 });
  });

  it("re-creates a deleted key with a new create_revision and version 1", async () => {
    await put({ key: b64("p5/k"), value: b64("1") }, 200);
    await put({ key: b64("p5/k"), value: b64("2") }, 200);
    await del({ key: b64("p5/k"), prevKv: true }, 200);
    await put({ key: b64("p5/k"), value: b64("3"), prev_kv: true }, 200);
    await get("p5/k");
  });

  it("deletes everything with key and range_end \\0", async () => {
    await del({ key: b64("\0"), range_end: b64("\0") }, 200);
    await del({ key: b64("\0"), range_end: b64("\0"), prev_kv: true }, 200);
    await s.post("/v3/kv/range", { key: b64("\0"), range_end: b64("\0") }, { expectStatus: 200 });
  });
});
