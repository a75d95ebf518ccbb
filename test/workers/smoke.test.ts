import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";

it("serves from a member", async () => {
  const r = await exports.default.fetch("http://x/_smoke", { method: "POST" });
  expect(await r.json()).toEqual({ n: 1 });
});
