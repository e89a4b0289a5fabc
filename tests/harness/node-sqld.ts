import { afterAll, beforeAll } from "vitest";
import { emptyDatabase } from "./empty-database.ts";
import { nodeHarnessOn } from "./node.ts";
import { type Sqld, startSqld } from "./sqld.ts";
import type { HarnessFactory } from "./types.ts";

/**
 * One sqld for the calling test file (started before its first test, stopped after its last)
 * and a harness factory over it: each harness opens `DATABASE_URL=<sqld>` with the production
 * opener (`src/db/libsql-node.ts`) and starts from empty tables. A file's tests run one after
 * another, so emptying on open is safe; test files run in parallel, each with its own server.
 */
export function sqldHarnessPerFile(): { harness: HarnessFactory; url: () => string } {
  let server: Sqld | undefined;
  beforeAll(async () => {
    server = await startSqld();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const url = () => {
    if (!server)
      throw new Error("sqld is not running (call sqldHarnessPerFile at the top of a file)");
    return server.url;
  };
  return {
    url,
    harness: nodeHarnessOn(async () => ({
      url: url(),
      prepare: emptyDatabase,
      release: async () => {},
    })),
  };
}
