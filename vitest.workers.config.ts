import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { createPasswordHasher } from "./src/passwords/hasher.ts";

export const CROSS_RUNTIME_PASSWORD = "pässwörd from Node ✓";

export default defineConfig(async () => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(path.join(import.meta.dirname, "migrations")),
          // A PHC string made by the Node hasher (node:crypto on Node), for workerd to verify.
          NODE_PHC: await createPasswordHasher().hash(CROSS_RUNTIME_PASSWORD),
          CROSS_RUNTIME_PASSWORD,
        },
      },
    }),
  ],
  test: {
    name: "workers",
    include: ["tests/worker/**/*.test.ts"],
    setupFiles: ["./tests/worker/apply-migrations.ts"],
    // The HTTP mail sink (Node), which tests in workerd reach at inject("mailSinkUrl"), and the
    // upstream identity providers of the social sign-in tests, at inject("upstreams"); a libSQL
    // server (sqld) for the Worker over DATABASE_URL, at inject("sqldUrl").
    globalSetup: [
      "./tests/worker/mail-sink.global-setup.ts",
      "./tests/worker/upstream.global-setup.ts",
      "./tests/worker/sqld.global-setup.ts",
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
}));
