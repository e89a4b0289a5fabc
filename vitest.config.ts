import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          environment: "node",
          include: ["tests/node/**/*.test.ts", "src/**/*.test.ts"],
          globalSetup: ["tests/node/global-setup.ts"],
          testTimeout: 20_000,
          hookTimeout: 20_000,
        },
      },
      {
        test: {
          // The Node app over a real libSQL server (sqld), one per test file.
          name: "sqld",
          environment: "node",
          include: ["tests/sqld/**/*.test.ts"],
          globalSetup: ["tests/sqld/global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: "browser",
          environment: "node",
          include: ["tests/browser/**/*.test.ts"],
          globalSetup: ["tests/node/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      "./vitest.workers.config.ts",
    ],
  },
});
