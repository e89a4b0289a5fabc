import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Client } from "@libsql/client";
import { openNodeDatabase } from "../../src/db/libsql-node.ts";
import type { Schedule } from "../../src/lib/schedule.ts";
import {
  afterIoPhase,
  installSynchronousSigning,
  nodeGroupCommit,
  smtpMailer,
} from "../../src/node-runtime.ts";
import { testHarness } from "./test-app.ts";
import type { HarnessFactory } from "./types.ts";

export const MIGRATIONS = fileURLToPath(new URL("../../migrations", import.meta.url));

/** Where a Node harness's database lives: a `DATABASE_URL`, and what to do around opening it. */
export type DatabasePlace = {
  url: string;
  /** After the production opener ran (migrations applied): make the database empty, if shared. */
  prepare?(client: Client): Promise<void>;
  /** After the client closed. */
  release(): Promise<void>;
};

/** A fresh libSQL file in a temp dir, removed afterwards. */
export async function tempFile(): Promise<DatabasePlace> {
  const dir = await mkdtemp(join(tmpdir(), "tessera-test-"));
  return {
    url: `file:${join(dir, "tessera.db")}`,
    release: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * A Node harness over the database `place` gives: opened by the production opener
 * (`src/db/libsql-node.ts`, migrations applied), the app built by the same `bootstrap` as
 * `src/node.ts`. `batchReads` replaces the entry's schedule of batched user reads.
 */
export function nodeHarnessOn(
  place: () => Promise<DatabasePlace>,
  { batchReads = afterIoPhase }: { batchReads?: Schedule } = {},
): HarnessFactory {
  // As src/node.ts: token signatures on the event loop (node:crypto), not the thread pool.
  installSynchronousSigning();
  return async (env = {}) => {
    const { url, prepare, release } = await place();
    let opened: Awaited<ReturnType<typeof openNodeDatabase>> | undefined;
    try {
      opened = await openNodeDatabase({ url, migrationsFolder: MIGRATIONS });
      const { client } = opened;
      await prepare?.(client);
      return await testHarness(
        opened.db,
        env,
        async () => {
          client.close();
          await release();
        },
        // As src/node.ts: the rotations of one event-loop turn commit together, and its user
        // reads are one query.
        { smtp: smtpMailer, groupCommit: nodeGroupCommit(client), batchReads },
      );
    } catch (error) {
      // A harness that failed to start (bad variable, migration error) leaves nothing behind.
      opened?.client.close();
      await release();
      throw error;
    }
  };
}

/** The Node harness: a fresh libSQL file in a temp dir with the committed migrations. */
export const createNodeHarness: HarnessFactory = nodeHarnessOn(tempFile);
