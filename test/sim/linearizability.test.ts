import { describe, expect, it } from "vitest";
import { checkLinearizable, describeFailure, registerModel, type HistoryOp, type RegisterInput, type RegisterOutput } from "./linearizability.ts";

type Op = HistoryOp<RegisterInput, RegisterOutput>;
const put = (c: string, k: string, v: string, t0: number, t1: number, known = true): Op => ({
  clientId: c, key: k, op: "put", input: { value: v }, output: known ? {} : null, invokeTime: t0, returnTime: known ? t1 : Infinity,
});
const get = (c: string, k: string, v: string | null, t0: number, t1: number): Op => ({
  clientId: c, key: k, op: "get", input: {}, output: { value: v }, invokeTime: t0, returnTime: t1,
});
const cas = (c: string, k: string, exp: string | null, v: string, ok: boolean, t0: number, t1: number): Op => ({
  clientId: c, key: k, op: "cas", input: { expected: exp, value: v }, output: { ok }, invokeTime: t0, returnTime: t1,
});

describe("linearizability checker", () => {
  it("accepts a sequential history", () => {
    const h = [put("a", "x", "1", 0, 1), get("b", "x", "1", 2, 3), cas("a", "x", "1", "2", true, 4, 5), get("b", "x", "2", 6, 7)];
    expect(checkLinearizable(registerModel, h).ok).toBe(true);
  });

  it("accepts concurrent operations in either order", () => {
    const h = [put("a", "x", "1", 0, 10), put("b", "x", "2", 1, 9), get("c", "x", "1", 11, 12)];
    expect(checkLinearizable(registerModel, h).ok).toBe(true);
  });

  it("rejects a stale read after a completed write", () => {
    const h = [put("a", "x", "1", 0, 1), put("a", "x", "2", 2, 3), get("b", "x", "1", 4, 5)];
    const r = checkLinearizable(registerModel, h);
    expect(r.ok).toBe(false);
    expect(describeFailure(registerModel, r)).toContain("not-linearizable");
  });

  it("rejects reads that go back in time (new then old)", () => {
    const h = [put("a", "x", "1", 0, 1), put("a", "x", "2", 2, 20), get("b", "x", "2", 3, 4), get("c", "x", "1", 5, 6)];
    expect(checkLinearizable(registerModel, h).ok).toBe(false);
  });

  it("rejects a successful CAS whose expectation cannot hold", () => {
    const h = [put("a", "x", "1", 0, 1), cas("b", "x", "0", "2", true, 2, 3)];
    expect(checkLinearizable(registerModel, h).ok).toBe(false);
  });

  it("lets an unknown-outcome write take effect late or never", () => {
    const late = [put("a", "x", "1", 0, 1), put("b", "x", "2", 2, 0, false), get("c", "x", "1", 5, 6), get("c", "x", "2", 7, 8)];
    expect(checkLinearizable(registerModel, late).ok).toBe(true);
    const never = [put("a", "x", "1", 0, 1), put("b", "x", "2", 2, 0, false), get("c", "x", "1", 5, 6)];
    expect(checkLinearizable(registerModel, never).ok).toBe(true);
    // …but not before it was invoked.
    const early = [put("b", "x", "2", 10, 0, false), get("c", "x", "2", 5, 6)];
    expect(checkLinearizable(registerModel, early).ok).toBe(false);
  });

  it("stays fast with many timed-out writes, and still finds violations among them", () => {
    const h: Op[] = [];
    for (let i = 0; i < 60; i++) h.push(put(`c${i % 4}`, "k", `u${i}`, i * 10, 0, false));
    for (let i = 0; i < 60; i++) h.push(put("w", "k", `v${i}`, i * 10 + 1, i * 10 + 2), get("r", "k", `v${i}`, i * 10 + 3, i * 10 + 4));
    expect(checkLinearizable(registerModel, h, { maxStepsPerKey: 200_000 }).ok).toBe(true);
    // A read of a timed-out write's value before that write was invoked is impossible.
    h.push(get("r", "k", "u59", 5, 6));
    const r = checkLinearizable(registerModel, h, { maxStepsPerKey: 2_000_000 });
    expect(r.ok ? "ok" : r.reason).toBe("not-linearizable");
  });

  it("checks keys independently", () => {
    const h = [put("a", "x", "1", 0, 1), put("a", "y", "1", 0, 1), get("b", "y", null, 2, 3)];
    const r = checkLinearizable(registerModel, h);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.key).toBe("y");
  });

  it("handles many concurrent clients quickly", () => {
    const h: Op[] = [];
    let v = 0;
    for (let t = 0; t < 400; t += 4) {
      for (let c = 0; c < 5; c++) {
        const val = String(++v);
        h.push(put(`c${c}`, "k", val, t + c, t + 6 + c));
      }
      h.push(get("r", "k", String(v), t + 12, t + 13));
    }
    expect(checkLinearizable(registerModel, h).ok).toBe(true);
  });
});
