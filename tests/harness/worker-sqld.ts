import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createClient } from "@libsql/client/web";
import { inject } from "vitest";
import { openWorkerDatabase } from "../../src/db/worker.ts";
import { createWorker, type WorkerEnv } from "../../src/worker.ts";
import { emptyDatabase } from "./empty-database.ts";
import { testHarness } from "./test-app.ts";
import type { HarnessFactory } from "./types.ts";

/**
 * The Worker over a libSQL server, as deployed with Turso: no D1 binding, `DATABASE_URL` set
 * (the sqld of tests/worker/sqld.global-setup.ts). Every request goes through the fetch handler
 * of `createWorker` — the code of the default export, with the harness's clock, hasher and
 * logger — which opens the database with `src/db/worker.ts` (`@libsql/client/web`). Cloudflare's
 * edge sets CF-Connecting-IP on every request; so does this harness (127.0.0.1). Each harness
 * starts from empty tables (one test file uses this server, its tests one after another).
 */
export const createWorkerSqldHarness: HarnessFactory = async (vars = {}) => {
  const url = inject("sqldUrl");
  const client = createClient({ url });
  try {
    await emptyDatabase(client);
  } finally {
    client.close();
  }
  const contexts: ExecutionContext[] = [];
  return testHarness(
    openWorkerDatabase({ DATABASE_URL: url }),
    vars,
    // Mail sends and other waitUntil work finish before the harness is gone.
    async () => {
      await Promise.all(contexts.map((ctx) => waitOnExecutionContext(ctx)));
    },
    {
      entry: async (overrides, config) => {
        const worker = createWorker(overrides);
        const workerEnv: WorkerEnv = { ...config, DATABASE_URL: url, ASSETS: env.ASSETS };
        return {
          runtime: await worker.start(workerEnv),
          fetch: (request) => {
            const edge = new Request(request);
            edge.headers.set("CF-Connecting-IP", "127.0.0.1");
            const ctx = createExecutionContext();
            contexts.push(ctx);
            return worker.handler.fetch(
              edge as Request<unknown, IncomingRequestCfProperties>,
              workerEnv,
              ctx,
            );
          },
        };
      },
    },
  );
};
