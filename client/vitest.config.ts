import { defineConfig } from "vitest/config";

// Client and CLI tests against a live server (a real etcd on loopback by default; see
// test/support/etcd-client-server.ts). Run: npx vitest run --config client/vitest.config.ts
export default defineConfig({
  test: {
    name: "client",
    root: new URL(".", import.meta.url).pathname,
    environment: "node",
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
