import { describe, expect, it } from "vitest";
import { Network, enc } from "./test-util.ts";

describe("smoke", () => {
  it("elects a leader and replicates", () => {
    const nt = new Network();
    nt.add(["m1", "m2", "m3"], ["m1", "m2", "m3"]);
    nt.get("m1").node.campaign();
    nt.stabilize();
    expect(nt.leader()).toBe("m1");
    expect(nt.get("m1").node.propose(enc("hello"))).toBeNull();
    nt.stabilize();
    for (const id of ["m1", "m2", "m3"]) expect(nt.appliedData(id)).toEqual(["hello"]);
  });
});
