import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { randomBytes } from "node:crypto";
import { defineConfig } from "vitest/config";

// Test secrets are made fresh for every run: nothing secret is written down.
const hex = (n: number) => randomBytes(n).toString("hex");

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./schema/migrations");
  const workers = cloudflareTest({
    wrangler: { configPath: "./wrangler.toml" },
    miniflare: {
      bindings: {
        TEST_MIGRATIONS: migrations,
        MASTER_KEYS: `1:${hex(32)},2:${hex(32)}`,
        MASTER_KEY_CURRENT: "1",
        BOOTSTRAP_TOKEN: `gk_${hex(32)}`,
        // Fuzzing (test/fuzz): cases per property and an optional seed, set by `npm run fuzz`.
        FUZZ_RUNS: process.env.FUZZ_RUNS ?? "",
        FUZZ_SEED: process.env.FUZZ_SEED ?? "",
      },
    },
  });
  return {
    test: {
      projects: [
        // Pure functions (primitives, protocol codecs): no database to prepare.
        { plugins: [workers], test: { name: "unit", testTimeout: 60_000, include: ["test/crypto/**/*.test.ts", "test/edhoc/**/*.test.ts", "test/sdk/**/*.test.ts", "test/fuzz/pure/**/*.test.ts"] } },
        // Everything that stores: D1 migrations applied before each file.
        {
          plugins: [workers],
          test: { name: "service", testTimeout: 60_000, include: ["test/**/*.test.ts"], exclude: ["test/crypto/**", "test/edhoc/**", "test/sdk/**", "test/e2e/**", "test/fuzz/pure/**"], setupFiles: ["./test/setup.ts"] },
        },
        // Black-box: gridkey under `wrangler dev`, driven over HTTP from Node.
        { test: { name: "e2e", environment: "node", include: ["test/e2e/**/*.test.ts"], testTimeout: 180_000, hookTimeout: 180_000 } },
      ],
    },
  };
});
