import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openNodeDatabase } from "../../src/db/libsql-node.ts";
import { smtpMailer } from "../../src/node-runtime.ts";
import { testHarness } from "./test-app.ts";
import type { HarnessFactory } from "./types.ts";

export const MIGRATIONS = fileURLToPath(new URL("../../migrations", import.meta.url));

/**
 * The Node harness: a fresh libSQL file in a temp dir with the committed migrations,
 * and the app built by the same `bootstrap` as `src/node.ts`.
 */
export const createNodeHarness: HarnessFactory = async (env = {}) => {
  const dir = await mkdtemp(join(tmpdir(), "tessera-test-"));
  const removeDir = () => rm(dir, { recursive: true, force: true });
  let opened: Awaited<ReturnType<typeof openNodeDatabase>> | undefined;
  try {
    opened = await openNodeDatabase({
      url: `file:${join(dir, "tessera.db")}`,
      migrationsFolder: MIGRATIONS,
    });
    const { client } = opened;
    return await testHarness(
      opened.db,
      env,
      async () => {
        client.close();
        await removeDir();
      },
      { smtp: smtpMailer },
    );
  } catch (error) {
    // A harness that failed to start (bad variable, migration error) leaves nothing behind.
    opened?.client.close();
    await removeDir();
    throw error;
  }
};
