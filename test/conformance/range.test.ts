// Range: key/range_end forms, limit/more/count, history, sort orders × targets, filters.
import { expect, it } from "vitest";
import { b64, describeConformance, useSession, prefixEnd, unb64 } from "./harness.ts";

describeConformance("conformance: Range", () => {
  const s = useSession();

  const put = (key: string, value: string, extra: object = {}) =>
    s.post("/v3/kv/put", { key: b64(key), value: b64(value), ...extra }, { expectStatus: 200 });
  const range = (body: object, expectStatus?: number) =>
    s.post("/v3/kv/range", body, expectStatus === undefined ? {} : { expectStatus });

  it("single keys, missing keys and the empty store", async () => {
    // First request after start: a serializable read is answered locally, and etcd only
    // serves clients once its member has a leader (raft_term is set).
    await range({ key: b64("r1/a"), serializable: true }, 200);
    await range({ key: b64("r1/a") }, 200);
    await put("r1/a", "1");
    const r = await range({ key: b64("r1/a") }, 200);
    expect(unb64(r.json.kvs[0].value)).toBe("1");
    await range({ key: b64("r1/b") }, 200);
    await range({ key: b64("r1/") }, 200);
    await range({ key: b64("r1/a\0") }, 200);
  });

  it("key/range_end forms: interval, prefix, from-key, all keys, inverted and equal bounds", async () => {
    for (const k of ["r2/a", "r2/aa", "r2/ab", "r2/b", "r2/c", "r2/\xff", "r2/\xff\xff"]) await put(k, k);
    const forms: [string, string][] = [
      ["r2/a", "r2/b"],
      ["r2/a", prefixEnd("r2/a")],
      ["r2/", prefixEnd("r2/")],
      ["r2/\xff", prefixEnd("r2/\xff")],
      ["r2/b", "\0"],
      ["r2/c", "r2/a"],
      ["r2/a", "r2/a"],
      ["r2/a", "r2/a\0"],
      ["r2/", "r2/"],
    ];
    for (const [key, end] of forms) await range({ key: b64(key), range_end: b64(end) }, 200);
    await range({ key: b64("\0"), range_end: b64("\0"), count_only: true }, 200);
    await range({ key: b64("\0"), range_end: b64("\0"), keys_only: true, limit: 3 }, 200);
  });

  it("limit, more and count", async () => {
    for (let i = 0; i < 6; i++) await put(`r3/${i}`, `v${i}`);
    const all = { key: b64("r3/"), range_end: b64(prefixEnd("r3/")) };
    for (const limit of [0, 1, 2, 5, 6, 7, -1, "3"]) await range({ ...all, limit }, 200);
    await range({ ...all, limit: 2, count_only: true }, 200);
    await range({ ...all, limit: 2, keys_only: true }, 200);
  });

  it("revisions: history, current, zero, negative and future", async () => {
    const first = await put("r4/k", "v1");
    await put("r4/k", "v2");
    await s.post("/v3/kv/deleterange", { key: b64("r4/k") }, { expectStatus: 200 });
    const last = await put("r4/k", "v3");
    const r1 = Number(first.json.header.revision);
    const rn = Number(last.json.header.revision);
    for (let rev = r1 - 1; rev <= rn; rev++) await range({ key: b64("r4/k"), revision: String(rev) }, 200);
    await range({ key: b64("r4/"), range_end: b64(prefixEnd("r4/")), revision: r1 + 1 }, 200);
    await range({ key: b64("r4/k"), revision: 0 }, 200);
    await range({ key: b64("r4/k"), revision: -3 }, 200);
    await range({ key: b64("r4/k"), revision: rn + 1 }, 400);
    await range({ key: b64("r4/k"), revision: "1000000" }, 400);
    await range({ key: b64("r4/k"), revision: 1 }, 200);
  });

  it("every sort order × sort target", async () => {
    // Distinct create/mod revisions, versions and values, plus ties (at most 12 keys, where
    // Go's sort is an insertion sort and therefore stable; beyond 12 ties may land anywhere).
    await put("r5/d", "3");
    await put("r5/b", "1");
    await put("r5/a", "3");
    await put("r5/c", "2");
    await put("r5/b", "4");
    await put("r5/e", "0");
    await put("r5/b", "1");
    await put("r5/d", "3");
    const base = { key: b64("r5/"), range_end: b64(prefixEnd("r5/")) };
    for (const order of ["NONE", "ASCEND", "DESCEND", 0, 1, 2]) {
      for (const target of ["KEY", "VERSION", "CREATE", "MOD", "VALUE", 0, 1, 2, 3, 4]) {
        await range({ ...base, sort_order: order, sort_target: target }, 200);
      }
    }
    for (const target of ["KEY", "VALUE", "MOD"]) {
      await range({ ...base, sort_order: "DESCEND", sort_target: target, limit: 2 }, 200);
      await range({ ...base, sort_order: "ASCEND", sort_target: target, limit: 3, keys_only: true }, 200);
    }
    // An order number etcd does not know: no sorting at all (even with a non-KEY target).
    await range({ ...base, sort_order: 7, sort_target: "VALUE" }, 200);
  });

  it("serializable, keys_only and count_only", async () => {
    await put("r6/a", "x");
    await put("r6/b", "y", { prev_kv: true });
    const base = { key: b64("r6/"), range_end: b64(prefixEnd("r6/")) };
    await range({ ...base, serializable: true }, 200);
    await range({ ...base, keys_only: true }, 200);
    await range({ ...base, count_only: true }, 200);
    await range({ ...base, count_only: true, keys_only: true, serializable: true }, 200);
    await range({ key: b64("r6/none"), count_only: true }, 200);
  });

  it("min/max mod and create revision filters (count ignores them)", async () => {
    const revs: number[] = [];
    for (const [k, v] of [["r7/a", "1"], ["r7/b", "1"], ["r7/c", "1"], ["r7/a", "2"], ["r7/d", "1"], ["r7/b", "2"]]) {
      revs.push(Number((await put(k!, v!)).json.header.revision));
    }
    const base = { key: b64("r7/"), range_end: b64(prefixEnd("r7/")) };
    const [r0, r1, r2, r3, r4] = revs as [number, number, number, number, number];
    const filters: object[] = [
      { min_mod_revision: r2 },
      { max_mod_revision: r2 },
      { min_create_revision: r1 },
      { max_create_revision: r1 },
      { min_mod_revision: r1, max_mod_revision: r3 },
      { min_create_revision: r0, max_create_revision: r4, min_mod_revision: r3 },
      { minModRevision: String(r3), limit: 1 },
      { max_create_revision: r2, limit: 1, sort_order: "DESCEND", sort_target: "MOD" },
      { min_mod_revision: r4 + 100 },
    ];
    for (const f of filters) await range({ ...base, ...f }, 200);
    await range({ ...base, min_mod_revision: r2, revision: r3 }, 200);
  });

  it("errors: empty key, range_end without key", async () => {
    await range({}, 400);
    await range({ key: "" }, 400);
    await range({ range_end: b64("z") }, 400);
    await range({ key: null, limit: 1 }, 400);
  });
});
