import { expect, it } from "vitest";
import { decodeInternalRequest, encodeInternalRequest, type InternalRequest } from "../../src/server/internal_request.ts";
import { b, cmp, opDel, opGet, opPut, opTxn, putReq, txnReq } from "./kv_helpers.ts";

const roundTrip = (r: InternalRequest) => expect(decodeInternalRequest(encodeInternalRequest(r))).toEqual(r);

it("round-trips every request kind exactly", () => {
  roundTrip({ op: "put", id: 1, request: putReq("k", "v", { lease: 2324035535203301350n, prevKv: true }) });
  roundTrip({ op: "deleteRange", id: 2, request: { key: b("a"), rangeEnd: new Uint8Array([0]), prevKv: true } });
  roundTrip({
    op: "txn",
    id: 3,
    request: txnReq(
      [cmp("a", "VALUE", "EQUAL", { value: b("x") }, "b"), cmp("a", "LEASE", "GREATER", { lease: 9223372036854775807n }), cmp("z", "MOD", "LESS", {})],
      [opPut("a", ""), opTxn(txnReq([], [opGet("q", { sortOrder: "DESCEND", sortTarget: "VALUE", limit: 3 })], [{}]))],
      [opDel("a")],
    ),
  });
  roundTrip({ op: "compaction", id: 4, request: { revision: 99, physical: true } });
  roundTrip({ op: "leaseGrant", id: 5, request: { ID: 1n << 62n, TTL: 10 } });
  roundTrip({ op: "leaseRevoke", id: 6, request: { ID: 7n } });
  roundTrip({ op: "leaseCheckpoint", id: 7, request: { checkpoints: [{ ID: 7n, remainingTtlSeconds: 3 }] } });
});

it("stores bytes raw (no base64 growth) and keeps binary content", () => {
  const value = new Uint8Array(1024 * 1024).map((_, i) => (i * 7) & 0xff);
  const key = new Uint8Array([0, 255, 0x22, 0x5c, 10]);
  const enc = encodeInternalRequest({ op: "put", id: 1, request: putReq(key, value) });
  expect(enc.length).toBeLessThan(value.length + 400);
  const dec = decodeInternalRequest(enc);
  expect(dec.op === "put" && Buffer.compare(dec.request.value, value)).toBe(0);
  expect(dec.op === "put" && dec.request.key).toEqual(key);
});

it("decodes from a view into a larger buffer and rejects truncated input", () => {
  const enc = encodeInternalRequest({ op: "leaseRevoke", id: 6, request: { ID: 7n } });
  const big = new Uint8Array(enc.length + 10);
  big.set(enc, 5);
  expect(decodeInternalRequest(big.subarray(5, 5 + enc.length))).toEqual({ op: "leaseRevoke", id: 6, request: { ID: 7n } });
  expect(() => decodeInternalRequest(enc.subarray(0, 3))).toThrow();
  const withBlob = encodeInternalRequest({ op: "put", id: 1, request: putReq("key", "value") });
  expect(() => decodeInternalRequest(withBlob.subarray(0, withBlob.length - 1))).toThrow();
});
