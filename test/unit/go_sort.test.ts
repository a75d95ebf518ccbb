import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { goSort, goSortReverse } from "../../src/server/go_sort.ts";
import { TestMember, ZERO, b, str } from "./kv_helpers.ts";

// Recorded from etcd 3.4.23 (Go 1.19.8): 200 keys s/0000..s/0199 with values v0..v2,
// ranged with sort_target VALUE; then every third key rewritten and ranged by VERSION with
// limit 150. Key indices in etcd's answer order.
const fixture = JSON.parse(readFileSync(new URL("./fixtures/etcd_3.4.23_sort_ties.json", import.meta.url), "utf8")) as {
  values: string[];
  VALUE_ASCEND: number[];
  VALUE_DESCEND: number[];
  VERSION_ASCEND_limit150: number[];
  VERSION_DESCEND_limit150: number[];
};

it("orders ties exactly as etcd 3.4.23 does", () => {
  const m = new TestMember();
  fixture.values.forEach((v, i) => m.put(`s/${String(i).padStart(4, "0")}`, v));
  const idx = (kvs: { key: Uint8Array }[]) => kvs.map((kv) => Number(str(kv.key).slice(2)));
  const get = (over: object) => m.get("s/", { rangeEnd: b("s0"), ...over });
  expect(idx(get({ sortTarget: "VALUE", sortOrder: "ASCEND" }).kvs)).toEqual(fixture.VALUE_ASCEND);
  expect(idx(get({ sortTarget: "VALUE", sortOrder: "DESCEND" }).kvs)).toEqual(fixture.VALUE_DESCEND);
  for (let i = 0; i < 200; i += 3) m.put(`s/${String(i).padStart(4, "0")}`, fixture.values[i]!);
  const asc = get({ sortTarget: "VERSION", sortOrder: "ASCEND", limit: 150 });
  expect(idx(asc.kvs)).toEqual(fixture.VERSION_ASCEND_limit150);
  expect(asc).toMatchObject({ more: true, count: 200 });
  expect(idx(get({ sortTarget: "VERSION", sortOrder: "DESCEND", limit: 150 }).kvs)).toEqual(fixture.VERSION_DESCEND_limit150);
  // a stable sort would have answered differently: the fixture really tests tie order
  const stable = get({}).kvs.slice().sort((x, y) => Buffer.compare(Buffer.from(x.value), Buffer.from(y.value)));
  expect(idx(stable)).not.toEqual(fixture.VALUE_ASCEND);
  expect(m.get(ZERO, { rangeEnd: ZERO, countOnly: true }).count).toBe(200);
});

it("sorts any input correctly (patterns, duplicates, sizes around the thresholds)", () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 48271) % 2147483647;
    return seed % n;
  };
  for (const n of [0, 1, 2, 12, 13, 49, 50, 51, 200, 1000, 5000]) {
    const inputs = [
      Array.from({ length: n }, () => rnd(1000)),
      Array.from({ length: n }, () => rnd(3)),
      Array.from({ length: n }, (_, i) => i),
      Array.from({ length: n }, (_, i) => n - i),
      Array.from({ length: n }, (_, i) => (i % 2 ? i : n - i)),
      Array.from({ length: n }, (_, i) => (i < n / 2 ? i : n - i)),
    ];
    for (const xs of inputs) {
      const a = xs.slice();
      goSort(a, (x, y) => x < y);
      expect(a).toEqual(xs.slice().sort((x, y) => x - y));
      const d = xs.slice();
      goSortReverse(d, (x, y) => x < y);
      expect(d).toEqual(xs.slice().sort((x, y) => y - x));
    }
  }
});
