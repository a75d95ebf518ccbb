import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    reporters: ["default", "./test/support/summary-reporter.ts"],
    projects: [
      {
        test: {
          name: "unit",
          environment: "node",
          include: ["src/**/*.test.ts", "test/unit/**/*.test.ts", "test/sim/**/*.test.ts"],
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.jsonc", environment: "local" },
            // Small raft snapshot thresholds, so tests reach log compaction and catch-up by
            // snapshot with a few hundred writes.
            miniflare: { bindings: { ETCDO_SNAPSHOT_COUNT: "100", ETCDO_SNAPSHOT_CATCHUP_ENTRIES: "10" } },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          // Clusters are driven by running alarms on demand; an election is a few hundred
          // alarm runs, which a busy 2-core machine can stretch past vitest's default 5 s.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "client",
          environment: "node",
          include: ["client/test/**/*.test.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "client-etcdo",
          environment: "node",
          include: ["client/test/**/*.test.ts"],
          env: { ETCDO_TEST_TARGET: "etcdo" },
          testTimeout: 30_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "e2e",
          environment: "node",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "cluster",
          environment: "node",
          include: ["test/cluster/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "conformance",
          environment: "node",
          include: ["test/conformance/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
