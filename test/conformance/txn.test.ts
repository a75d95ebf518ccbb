// Txn: every compare target × result, range_end compares, missing keys, nested txns,
// read-after-write, the 128-op limit, duplicate-key rules, atomic failure.
import { it } from "vitest";
import { b64, describeConformance, useSession, prefixEnd } from "./harness.ts";

describeConformance("conformance: Txn", () => {
  const s = useSession();

  const txn = (body: object, expectStatus?: number) =>
    s.post("/v3/kv/txn", body, expectStatus === undefined ? {} : { expectStatus });
  const putOp = (key: string, value = "v", extra: object = {}) => ({ request_put: { key: b64(key), value: b64(value), ...extra } });
  const rangeOp = (key: string, extra: object = {}) => ({ request_range: { key: b64(key), ...extra } });
  const delOp = (key: string, extra: object = {}) => ({ request_delete_range: { key: b64(key), ...extra } });

  it("every compare target × result against an existing key", async () => {
    await s.post("/v3/lease/grant", { TTL: 600, ID: 500 }, { expectStatus: 200 });
    await s.post("/v3/kv/put", { key: b64("t1/k"), value: b64("m") }, { expectStatus: 200 });
    await s.post("/v3/kv/put", { key: b64("t1/k"), value: b64("m"), lease: 500 }, { expectStatus: 200 });
    const kv = (await s.post("/v3/kv/range", { key: b64("t1/k") })).json.kvs[0];
    const targetsAndValues: [string, string, (d: number) => unknown][] = [
      ["VERSION", "version", (d) => String(Number(kv.version) + d)],
      ["CREATE", "create_revision", (d) => String(Number(kv.create_revision) + d)],
      ["MOD", "mod_revision", (d) => Number(kv.mod_revision) + d],
      ["LEASE", "lease", (d) => String(500 + d)],
      ["VALUE", "value", (d) => b64(d < 0 ? "l" : d > 0 ? "n" : "m")],
    ];
    for (const [target, field, around] of targetsAndValues) {
      for (const result of ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"]) {
        for (const d of [-1, 0, 1]) {
          await txn(
            {
              compare: [{ target, result, key: b64("t1/k"), [field]: around(d) }],
              success: [rangeOp("t1/k", { keys_only: true })],
              failure: [rangeOp("t1/none")],
            },
            200,
          );
        }
      }
    }
    // Numbers for enums, camelCase names, the default result (EQUAL) and target (VERSION).
    await txn({ compare: [{ target: 2, result: 3, key: b64("t1/k"), modRevision: kv.mod_revision }] }, 200);
    await txn({ compare: [{ key: b64("t1/k"), version: kv.version }] }, 200);
    await txn({ compare: [{ key: b64("t1/k") }] }, 200);
    // The union member must match the target; otherwise the compare is against 0.
    await txn({ compare: [{ target: "MOD", result: "GREATER", key: b64("t1/k"), version: "1000" }] }, 200);
    await txn({ compare: [{ target: "VALUE", result: "EQUAL", key: b64("t1/k"), version: "1" }] }, 200);
    await txn({ compare: [{ target: "VALUE", result: "GREATER", key: b64("t1/k") }] }, 200);
  });

  it("compares on missing keys and over key ranges", async () => {
    for (const target of ["VERSION", "CREATE", "MOD", "VALUE", "LEASE"]) {
      for (const result of ["EQUAL", "NOT_EQUAL", "GREATER", "LESS"]) {
        await txn({ compare: [{ target, result, key: b64("t2/missing") }], success: [rangeOp("t2/")] }, 200);
      }
    }
    for (const [k, v] of [["t2/a", "1"], ["t2/b", "2"], ["t2/c", "3"]]) {
      await s.post("/v3/kv/put", { key: b64(k!), value: b64(v!) }, { expectStatus: 200 });
    }
    const all = { key: b64("t2/"), range_end: b64(prefixEnd("t2/")) };
    await txn({ compare: [{ ...all, target: "VERSION", result: "EQUAL", version: 1 }] }, 200);
    await txn({ compare: [{ ...all, target: "VALUE", result: "GREATER", value: b64("0") }] }, 200);
    await txn({ compare: [{ ...all, target: "VALUE", result: "LESS", value: b64("3") }] }, 200);
    await txn({ compare: [{ ...all, target: "MOD", result: "LESS", mod_revision: 1 }] }, 200);
    await txn({ compare: [{ key: b64("t2/b"), range_end: b64("\0"), target: "CREATE", result: "GREATER", create_revision: 1 }] }, 200);
    await txn({ compare: [{ key: b64("t2/x"), range_end: b64("t2/z"), target: "VALUE", result: "NOT_EQUAL", value: b64("q") }] }, 200);
    await txn({ compare: [{ key: b64("t2/x"), range_end: b64("t2/z"), target: "VERSION", result: "EQUAL" }] }, 200);
    // Several compares are a conjunction.
    await txn({
      compare: [
        { key: b64("t2/a"), target: "VALUE", value: b64("1") },
        { key: b64("t2/b"), target: "VALUE", value: b64("x") },
      ],
      success: [putOp("t2/s")],
      failure: [putOp("t2/f")],
    }, 200);
  });

  it("writes, reads its own writes, and nests", async () => {
    await txn({ success: [putOp("t3/a", "1"), rangeOp("t3/a"), putOp("t3/b", "2", { prev_kv: true }), rangeOp("t3/", { range_end: b64(prefixEnd("t3/")) })] }, 200);
    await txn({ success: [putOp("t3/a", "3", { prev_kv: true }), delOp("t3/b", { prev_kv: true }), rangeOp("t3/", { range_end: b64(prefixEnd("t3/")), count_only: true })] }, 200);
    await txn({ success: [delOp("t3/none"), rangeOp("t3/none")] }, 200); // no write: no new revision
    await txn({ success: [{ request_txn: {} }] }, 200);
    await txn({
      compare: [{ key: b64("t3/a"), target: "VALUE", value: b64("3") }],
      success: [
        putOp("t3/c", "c"),
        {
          request_txn: {
            compare: [{ key: b64("t3/c"), target: "VERSION", result: "GREATER", version: 0 }],
            success: [rangeOp("t3/c"), putOp("t3/d", "d")],
            failure: [putOp("t3/e", "e")],
          },
        },
        { request_txn: { success: [{ request_txn: { failure: [putOp("t3/f")] } }] } },
      ],
      failure: [putOp("t3/g")],
    }, 200);
    await s.post("/v3/kv/range", { key: b64("t3/"), range_end: b64(prefixEnd("t3/")) }, { expectStatus: 200 });
  });

  it("the 128-operation limit (max of compare, success, failure; nested budget)", async () => {
    const puts = (n: number, p: string) => Array.from({ length: n }, (_, i) => putOp(`${p}/${i}`));
    const cmps = (n: number) => Array.from({ length: n }, () => ({ key: b64("t4/x"), target: "VERSION", result: "EQUAL" }));
    await txn({ success: puts(128, "t4/a") }, 200);
    await txn({ success: puts(129, "t4/b") }, 400);
    await txn({ compare: cmps(128), failure: puts(128, "t4/c") }, 200);
    await txn({ compare: cmps(129) }, 400);
    await txn({ failure: puts(129, "t4/d") }, 400);
    await txn({ compare: cmps(100), success: [{ request_txn: { success: puts(28, "t4/e") } }] }, 200);
    await txn({ compare: cmps(100), success: [{ request_txn: { success: puts(29, "t4/f") } }] }, 400);
  });

  it("duplicate-key rules", async () => {
    const cases: [object, number][] = [
      [{ success: [putOp("t5/a"), putOp("t5/a")] }, 400],
      [{ success: [putOp("t5/a"), delOp("t5/a")] }, 400],
      [{ success: [delOp("t5/a"), putOp("t5/a")] }, 400],
      [{ success: [delOp("t5/", { range_end: b64(prefixEnd("t5/")) }), putOp("t5/q")] }, 400],
      [{ success: [delOp("t5/a"), delOp("t5/a"), delOp("t5/", { range_end: b64("t5/b") })] }, 200],
      [{ success: [putOp("t5/a")], failure: [putOp("t5/a")] }, 200],
      [{ success: [putOp("t5/a"), rangeOp("t5/a"), putOp("t5/b")] }, 200],
      [{ success: [{ request_txn: { success: [putOp("t5/n")], failure: [putOp("t5/n")] } }] }, 200],
      [{ success: [putOp("t5/n"), { request_txn: { success: [putOp("t5/n")] } }] }, 400],
      [{ success: [{ request_txn: { success: [putOp("t5/n")] } }, { request_txn: { failure: [putOp("t5/n")] } }] }, 400],
      [{ success: [delOp("t5/n"), { request_txn: { success: [putOp("t5/n")] } }] }, 400],
      [{ success: [putOp("t5/n"), { request_txn: { success: [delOp("t5/n")] } }] }, 400],
      [{ success: [putOp("t5/n"), { request_txn: { success: [delOp("t5/o")] } }] }, 200],
      [{ success: [{ request_txn: { success: [delOp("t5/", { range_end: b64("t5/z") })] } }, putOp("t5/m")] }, 400],
    ];
    for (const [body, status] of cases) await txn(body, status);
  });

  it("validation errors: empty keys and empty operations", async () => {
    await txn({ compare: [{ target: "VALUE", value: b64("x") }] }, 400);
    await txn({ success: [putOp("")] }, 400);
    await txn({ success: [rangeOp("")] }, 400);
    await txn({ failure: [delOp("")] }, 400);
    await txn({ success: [{}] }, 400);
    await txn({ success: [{ request_range: null }] }, 400);
    await txn({ success: [{ request_txn: { success: [{}] } }] }, 400);
    await txn({ success: [putOp("t6/a", "v", { ignore_value: true })] }, 400);
  });

  it("fails atomically at apply time (unknown lease, missing key for ignore_value)", async () => {
    await txn({ success: [putOp("t7/a", "1"), putOp("t7/b", "2", { lease: "424242" })] }, 404);
    await txn({ success: [putOp("t7/a", "1"), { request_put: { key: b64("t7/missing"), ignore_value: true } }] }, 400);
    await s.post("/v3/kv/range", { key: b64("t7/"), range_end: b64(prefixEnd("t7/")) }, { expectStatus: 200 });
    await txn({ success: [rangeOp("t7/a", { revision: 100000 })] }, 400);
  });
});
