// npm run test:eviction: workerd tests that evict members holding hibernatable sockets,
// kept out of npm test until the runtime has workerd's fix for issue #6862 (1.20260805.1 or
// later; see evict() in test/workers/cluster_support.ts).
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.jsonc", environment: "local" } })],
  test: { name: "eviction", include: ["test/eviction/**/*.test.ts"], testTimeout: 60_000 },
});
