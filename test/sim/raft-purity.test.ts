// The raft core must stay pure: no platform, clock, randomness, timers or async. This scans
// its source (not the tests) and fails on any of them; src/util may be imported.

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const dir = new URL("../../src/raft/", import.meta.url).pathname;
const sources = readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));

const forbidden: [RegExp, string][] = [
  [/from\s+["'](cloudflare:|node:)/, "platform import"],
  [/import\s*\(\s*["'](cloudflare:|node:)/, "dynamic platform import"],
  [/\bDate\b/, "Date (wall clock)"],
  [/\bperformance\s*\./, "performance clock"],
  [/Math\.random/, "Math.random"],
  [/\bcrypto\b/, "crypto randomness"],
  [/\b(setTimeout|setInterval|setImmediate|queueMicrotask)\b/, "timers"],
  [/\bPromise\b|\basync\b|\bawait\b/, "Promise/async"],
  [/\bprocess\./, "process"],
  [/\bconsole\./, "console (log through the injected Logger)"],
];

/** Strips comments so that prose may mention these words. */
function code(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
}

describe("raft core purity", () => {
  it("has source files to check", () => {
    expect(sources.length).toBeGreaterThan(10);
  });

  for (const file of sources) {
    it(`${file} uses no platform, clock, randomness, timers or async`, () => {
      const src = code(readFileSync(join(dir, file), "utf8"));
      for (const [re, what] of forbidden) {
        const m = src.match(re);
        expect(m, `${file}: ${what}: ${m?.[0]}`).toBeNull();
      }
      for (const m of src.matchAll(/from\s+["']([^"']+)["']/g)) {
        const spec = m[1]!;
        const ok = spec.startsWith("./") || spec.startsWith("../util/");
        expect(ok, `${file} imports ${spec}: src/raft may import only itself and src/util`).toBe(true);
      }
    });
  }

  it("the scan itself catches violations", () => {
    const bad = code('import { x } from "node:fs";\nconst t = Date.now(); // Date in a comment is fine\n');
    expect(forbidden.some(([re]) => re.test(bad))).toBe(true);
    expect(code("// Math.random is only mentioned here\n")).not.toMatch(/Math\.random/);
  });
});
