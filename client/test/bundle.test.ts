// The browser build: the whole client, bundled and minified with esbuild, must stay under a
// gzipped budget, and a bundle of only watch stays smaller (the modules tree-shake). The
// /ui page module the Worker serves must be what scripts/build-ui.mjs builds now.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { UI_MODULE_PATH, buildUiPage, bundleBrowser, uiModuleSource } from "../../scripts/build-ui.mjs";

/** Gzipped bytes allowed for the whole client (everything index.ts exports). */
export const CLIENT_GZIP_BUDGET = 16 * 1024;
const INDEX = fileURLToPath(new URL("../src/index.ts", import.meta.url));

describe("browser bundle", () => {
  it(`the whole client is at most ${CLIENT_GZIP_BUDGET} bytes gzipped`, async () => {
    const js = await bundleBrowser(INDEX);
    const gz = gzipSync(js, { level: 9 }).length;
    console.log(`client browser bundle: ${js.length} bytes minified, ${gz} bytes gzipped (budget ${CLIENT_GZIP_BUDGET})`);
    expect(js).not.toMatch(/\bnode:|require\(/);
    expect(gz).toBeLessThanOrEqual(CLIENT_GZIP_BUDGET);
  });

  it("a watch-only bundle leaves the rest of the client out", async () => {
    const r = await build({
      stdin: { contents: 'import { watch, Transport } from "./index.ts"; export const w = (k) => watch({ transport: new Transport(), prefix: new Uint8Array() }, k);', resolveDir: fileURLToPath(new URL("../src/", import.meta.url)), loader: "ts" },
      bundle: true,
      format: "esm",
      platform: "browser",
      minify: true,
      write: false,
      logLevel: "silent",
    });
    const js = r.outputFiles[0]!.text;
    const whole = await bundleBrowser(INDEX);
    expect(js).not.toContain("/v3/kv/txn");
    expect(js).not.toContain("/v3/lease/grant");
    expect(js.length).toBeLessThan(whole.length * 0.75);
  });

  it("src/gateway/ui_page.gen.ts is up to date (npm run build:ui)", async () => {
    expect(readFileSync(UI_MODULE_PATH, "utf8") === uiModuleSource(await buildUiPage())).toBe(true);
  });
});
