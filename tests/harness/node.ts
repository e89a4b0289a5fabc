import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openNodeDatabase } from "../../src/db/libsql-node.ts";
import { testHarness } from "./test-app.ts";
import type { HarnessFactory } from "./types.ts";

export const MIGRATIONS = fileURLToPath(new URL("../../migrations", import.meta.url));

/**
 * The Node harness: a fresh libSQL file in a temp dir with the committed migrations,
 * and the app built by the same `bootstrap` as `src/node.ts`.
 */
export const createNodeHarness: HarnessFactory = async (env = {}) => {
  const dir = await mkdtemp(join(tmpdir(), "tessera-test-"));
  const { db, client } = await openNodeDatabase({
    url: `file:${join(dir, "tessera.db")}`,
    migrationsFolder: MIGRATIONS,
  });
  return testHarness(db, env, async () => {
    client.close();
    await rm(dir, { recursive: true, force: true });
  });
};
