// Compact: physical and not, reads below/at the compaction revision, repeated and future
// compactions, and what a compacted history looks like through Range and Txn.
import { it } from "vitest";
import { b64, describeConformance, useSession, prefixEnd } from "./harness.ts";

describeConformance("conformance: Compact", () => {
  const s = useSession();

  const compact = (body: object, expectStatus: number) => s.post("/v3/kv/compaction", body, { expectStatus });
  const range = (body: object, expectStatus: number) => s.post("/v3/kv/range", body, { expectStatus });

  it("compacts, keeps the latest version as of the revision, and refuses older reads", async () => {
    // On a fresh store revision 0 is not yet compacted.
    await compact({}, 200);
    const revs: number[] = [];
    for (const [k, v] of [["c/a", "1"], ["c/b", "1"], ["c/a", "2"], ["c/c", "1"], ["c/a", "3"], ["c/b", "2"]]) {
      revs.push(Number((await s.post("/v3/kv/put", { key: b64(k!), value: b64(v!) }, { expectStatus: 200 })).json.header.revision));
    }
    await s.post("/v3/kv/deleterange", { key: b64("c/c") }, { expectStatus: 200 });
    const all = { key: b64("c/"), range_end: b64(prefixEnd("c/")) };
    const c1 = revs[3]!;
    await compact({ revision: c1 }, 200);
    await range({ ...all, revision: c1 - 1 }, 400);
    await range({ ...all, revision: c1 }, 200);
    await range({ ...all, revision: c1 + 1 }, 200);
    await range({ ...all }, 200);
    await range({ ...all, revision: 1 }, 400);
    await compact({ revision: c1 }, 400);
    await compact({ revision: c1 - 1 }, 400);
    await compact({}, 400);
    await compact({ revision: 100000 }, 400);
    // A range inside a txn at a compacted revision fails the whole txn.
    await s.post("/v3/kv/txn", { success: [{ request_range: { ...all, revision: c1 - 1 } }] }, { expectStatus: 400 });
    await s.post("/v3/kv/txn", { success: [{ request_range: { ...all, revision: c1 } }] }, { expectStatus: 200 });
  });

  it("physical compaction and compaction at the current revision", async () => {
    const cur = Number((await s.post("/v3/kv/put", { key: b64("c/p"), value: b64("x") }, { expectStatus: 200 })).json.header.revision);
    await compact({ revision: cur - 1, physical: true }, 200);
    await range({ key: b64("c/"), range_end: b64(prefixEnd("c/")) }, 200);
    await compact({ revision: String(cur) }, 200);
    await range({ key: b64("c/p"), revision: cur }, 200);
    await range({ key: b64("c/p"), revision: cur - 1 }, 400);
    await compact({ revision: cur + 1 }, 400);
    await s.post("/v3/kv/put", { key: b64("c/p"), value: b64("y"), prev_kv: true }, { expectStatus: 200 });
    await compact({ revision: cur + 1 }, 200);
  });
});
