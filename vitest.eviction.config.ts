// npm run test:eviction: workerd tests that evict members holding hibernatable sockets,
// kept out of npm test while workerd's test eviction is unreliable for them.
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.jsonc", environment: "local" } })],
  test: { name: "eviction", include: ["test/eviction/**/*.test.ts"], testTimeout: 60_000 },
});
