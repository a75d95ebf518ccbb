import { describe, expect, it } from "vitest";
import { Errors } from "../../src/server/errors.ts";
import { DEFAULT_MAX_TXN_OPS, validateDeleteRange, validatePut, validateRange, validateTxn } from "../../src/server/validate.ts";
import type { RequestOp } from "../../src/server/types.ts";
import { ZERO, b, cmp, delReq, opDel, opGet, opPut, opTxn, putReq, rangeReq, txnReq } from "./kv_helpers.ts";

const ok = (f: () => void) => expect(f).not.toThrow();
const err = (f: () => void, e: Error) => expect(f).toThrow(e);

describe("single requests", () => {
  it("rejects an empty key in range, put and delete", () => {
    err(() => validateRange(rangeReq("")), Errors.EmptyKey);
    err(() => validatePut(putReq("", "v")), Errors.EmptyKey);
    err(() => validateDeleteRange(delReq("")), Errors.EmptyKey);
    ok(() => validateRange(rangeReq("\0", { rangeEnd: ZERO })));
  });
  it("put: ignore_value with a value, ignore_lease with a lease", () => {
    err(() => validatePut(putReq("k", "v", { ignoreValue: true })), Errors.ValueProvided);
    ok(() => validatePut(putReq("k", "", { ignoreValue: true })));
    err(() => validatePut(putReq("k", "", { ignoreLease: true, lease: 5n })), Errors.LeaseProvided);
    ok(() => validatePut(putReq("k", "v", { ignoreLease: true })));
    // empty key wins over the other checks
    err(() => validatePut(putReq("", "v", { ignoreValue: true })), Errors.EmptyKey);
  });
  it("does not validate sort options (etcd 3.4 has no check)", () => {
    ok(() => validateRange(rangeReq("k", { sortOrder: "DESCEND", sortTarget: "VALUE" })));
  });
});

describe("txn sizes and keys", () => {
  const many = <T,>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
  it("limits the largest of compare / success / failure, not their sum", () => {
    const n = DEFAULT_MAX_TXN_OPS;
    ok(() => validateTxn(txnReq(many(n, (i) => cmp(`c${i}`, "VERSION", "EQUAL", { version: 0 })), many(n, (i) => opGet(`g${i}`)), many(n, (i) => opPut(`p${i}`, "v")))));
    err(() => validateTxn(txnReq([], many(n + 1, (i) => opGet(`g${i}`)))), Errors.TooManyOps);
    err(() => validateTxn(txnReq([], [], many(n + 1, (i) => opGet(`g${i}`)))), Errors.TooManyOps);
    err(() => validateTxn(txnReq(many(n + 1, (i) => cmp(`c${i}`, "VERSION", "EQUAL", { version: 0 })), [])), Errors.TooManyOps);
    err(() => validateTxn(txnReq([], [opGet("a"), opGet("b")]), 1), Errors.TooManyOps);
  });
  it("gives a nested txn what is left of the budget", () => {
    const inner = txnReq([], many(29, (i) => opGet(`i${i}`)));
    ok(() => validateTxn(txnReq([], [...many(99, (i) => opGet(`o${i}`)), opTxn(txnReq([], many(28, (i) => opGet(`i${i}`))))])));
    err(() => validateTxn(txnReq([], [...many(99, (i) => opGet(`o${i}`)), opTxn(inner)])), Errors.TooManyOps);
    // the budget is max(len) of the outer level, 100 here -> 28 left
    ok(() => validateTxn(txnReq([], [opTxn(inner)])));
  });
  it("rejects empty keys in compares and in ops, nested too", () => {
    err(() => validateTxn(txnReq([cmp("", "VERSION", "EQUAL", { version: 0 })], [])), Errors.EmptyKey);
    err(() => validateTxn(txnReq([], [opPut("", "v")])), Errors.EmptyKey);
    err(() => validateTxn(txnReq([], [], [opDel("")])), Errors.EmptyKey);
    err(() => validateTxn(txnReq([], [opTxn(txnReq([], [opGet("")]))])), Errors.EmptyKey);
    err(() => validateTxn(txnReq([], [opPut("k", "v", { ignoreValue: true })])), Errors.ValueProvided);
  });
  it("rejects an empty RequestOp with key not found", () => {
    err(() => validateTxn(txnReq([], [{}])), Errors.KeyNotFound);
    err(() => validateTxn(txnReq([], [opTxn(txnReq([], [], [{}]))])), Errors.KeyNotFound);
  });
  it("checks sizes before duplicate keys", () => {
    err(() => validateTxn(txnReq([], [opPut("a", "1"), opPut("a", "2"), opGet("")])), Errors.EmptyKey);
  });
});

describe("txn duplicate keys (checkIntervals)", () => {
  const dup = (ops: RequestOp[]) => err(() => validateTxn(txnReq([], ops)), Errors.DuplicateKey);
  const fine = (ops: RequestOp[]) => ok(() => validateTxn(txnReq([], ops)));
  it("two puts of one key", () => {
    dup([opPut("a", "1"), opPut("a", "2")]);
    err(() => validateTxn(txnReq([], [], [opPut("a", "1"), opPut("a", "2")])), Errors.DuplicateKey);
    fine([opPut("a", "1"), opPut("b", "2")]);
    // one in success, one in failure: fine
    ok(() => validateTxn(txnReq([], [opPut("a", "1")], [opPut("a", "2")])));
  });
  it("a put inside a delete of the same branch, in either order", () => {
    dup([opDel("a"), opPut("a", "1")]);
    dup([opPut("a", "1"), opDel("a")]);
    dup([opDel("a", { rangeEnd: b("c") }), opPut("b", "1")]);
    fine([opDel("a", { rangeEnd: b("c") }), opPut("c", "1")]);
    fine([opDel("b", { rangeEnd: b("c") }), opPut("a", "1")]);
    fine([opDel("a"), opPut("ab", "1")]);
  });
  it("overlapping deletes are fine", () => {
    fine([opDel("a", { rangeEnd: b("c") }), opDel("b"), opDel("a", { rangeEnd: b("z") })]);
  });
  it("a delete with range end \\0 (from key) never conflicts, as in etcd 3.4", () => {
    fine([opDel("a", { rangeEnd: ZERO }), opPut("b", "1")]);
    fine([opDel("\0", { rangeEnd: ZERO }), opPut("a", "1")]);
    fine([opPut("a", "1"), opDel("a", { rangeEnd: ZERO })]);
  });
  it("nested puts against outer puts and deletes", () => {
    dup([opPut("a", "1"), opTxn(txnReq([], [opPut("a", "2")]))]);
    dup([opTxn(txnReq([], [opPut("a", "2")])), opPut("a", "1")]);
    dup([opDel("a"), opTxn(txnReq([], [opPut("a", "2")]))]);
    dup([opDel("a"), opTxn(txnReq([], [], [opPut("a", "2")]))]);
    dup([opTxn(txnReq([], [opDel("a")])), opPut("a", "1")]);
    dup([opTxn(txnReq([], [opPut("a", "1")])), opTxn(txnReq([], [opPut("a", "2")]))]);
    dup([opTxn(txnReq([], [opTxn(txnReq([], [opPut("a", "1")]))])), opPut("a", "2")]);
  });
  it("then/else of one nested txn may put the same key", () => {
    fine([opTxn(txnReq([], [opPut("a", "1")], [opPut("a", "2")]))]);
    // but an else put colliding with an earlier sibling's put is a duplicate
    dup([opTxn(txnReq([], [opPut("b", "1")])), opTxn(txnReq([], [opPut("x", "1")], [opPut("b", "2")]))]);
  });
  it("an earlier nested put is not checked against a later sibling's delete (etcd quirk)", () => {
    fine([opTxn(txnReq([], [opPut("a", "1")])), opTxn(txnReq([], [opDel("a")]))]);
    dup([opTxn(txnReq([], [opDel("a")])), opTxn(txnReq([], [opPut("a", "1")]))]);
  });
  it("only the two top-level branches are separate", () => {
    ok(() => validateTxn(txnReq([], [opDel("a")], [opPut("a", "1")])));
  });
});
