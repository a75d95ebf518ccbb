// The watch checker's keepalive: a silent socket is probed, then given up if still silent.
import { expect, it } from "vitest";
import { Liveness } from "../watch/liveness.ts";

it("a socket that answers nothing is probed after half the deadline, then given up", () => {
  const l = new Liveness(3000, 0);
  expect(l.check(1000)).toBe("ok");
  expect(l.check(1500)).toBe("probe");
  l.probed(1500);
  expect(l.check(4000)).toBe("ok");
  expect(l.check(4500)).toBe("dead");
});

it("anything heard (a probe's answer, an event) keeps the socket", () => {
  const l = new Liveness(3000, 0);
  l.probed(1500);
  l.heard(2000);
  expect(l.check(3000)).toBe("ok");
  expect(l.check(3500)).toBe("probe");
  l.probed(3500);
  l.heard(3600);
  // Silent again later: probed anew, never given up without a probe of its own.
  expect(l.check(6000)).toBe("probe");
});
