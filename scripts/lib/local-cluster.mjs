// Runs etcdo locally on the same runtime as production (workerd), started through
// Miniflare's API rather than `wrangler dev`, whose proxy costs about 5x in throughput.
// Used by `npm start`, the conformance suite, the end-to-end tests and the benchmark.
import { build } from "esbuild";
import { Miniflare, Log, LogLevel } from "miniflare";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { projectRoot, wranglerConfig } from "./config.mjs";
import { buildUiPage, uiModuleSource } from "../build-ui.mjs";

/** Builds the /ui page from client/ui/ into the bundle instead of the committed module. */
const freshUiPage = {
  name: "etcdo-ui",
  setup(b) {
    b.onLoad({ filter: /[\\/]ui_page\.gen\.ts$/ }, async () => ({ contents: uiModuleSource(await buildUiPage()), loader: "ts" }));
  },
};

/** Bundles the Worker (src/index.ts) into one ESM file Miniflare can load. */
export async function bundleWorker(outDir = join(projectRoot, "dist")) {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, "worker.mjs");
  const config = wranglerConfig();
  await build({
    entryPoints: [join(projectRoot, config.main)],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser", "import"],
    external: ["cloudflare:*", "node:*"],
    outfile,
    plugins: [freshUiPage],
    logLevel: "warning",
    sourcemap: "linked",
  });
  return outfile;
}

/**
 * Starts a local etcdo. Options:
 * - port (0 = any free port), host (default 127.0.0.1)
 * - persistDir: directory for member storage; undefined keeps everything in memory
 * - members: member names (default from wrangler.jsonc, env "local")
 * - vars: extra Worker variables (configuration overrides)
 * - environment: wrangler environment whose vars apply (default "local")
 * Returns { url, mf, dispose() }.
 */
export async function startLocalCluster(options = {}) {
  const environment = options.environment ?? "local";
  const config = wranglerConfig(environment);
  const scriptPath = await bundleWorker(options.outDir);
  const vars = { ...config.vars, ...(options.vars ?? {}) };
  if (options.members) vars.ETCDO_MEMBERS = options.members.join(",");
  const durableObjects = Object.fromEntries(
    config.durableObjects.map((b) => [b.name, { className: b.class_name, useSQLite: true }]),
  );
  const mf = new Miniflare({
    modules: true,
    scriptPath,
    modulesRoot: resolve(scriptPath, ".."),
    compatibilityDate: config.compatibilityDate,
    compatibilityFlags: config.compatibilityFlags,
    bindings: vars,
    durableObjects,
    host: "127.0.0.1",
    port: 0,
    cf: false,
    durableObjectsPersist: options.persistDir ? resolve(options.persistDir) : false,
    log: new Log(options.verbose ? LogLevel.DEBUG : LogLevel.WARN),
    // Clients talk to the Worker's own socket, as in production: Miniflare's entry worker
    // (request logging, dev error pages) would run in the same single-threaded workerd and
    // cost about a quarter of each request's CPU.
    unsafeDirectSockets: [{ host: options.host ?? "127.0.0.1", port: options.port ?? 0 }],
  });
  await mf.ready;
  const url = (await mf.unsafeGetDirectURL()).toString().replace(/\/$/, "");
  return {
    url,
    mf,
    async dispose() {
      await mf.dispose();
    },
  };
}
