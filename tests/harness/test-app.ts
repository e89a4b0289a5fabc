import { bootstrap } from "../../src/bootstrap.ts";
import { parseConfig } from "../../src/config.ts";
import type { Database } from "../../src/db/types.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { createPasswordHasher } from "../../src/passwords/hasher.ts";
import { generateSecret } from "../../src/secrets/derive-keys.ts";
import { createTestClock, type Harness } from "./types.ts";

/** Test scrypt cost: the PHC format and code path are the production ones, only cheaper. */
export const TEST_SCRYPT_PARAMS = { ln: 10, r: 8, p: 1 };

/** Builds the app over `db` as the entries do, with a hand-moved clock and captured logs. */
export async function testHarness(
  db: Database,
  env: Record<string, string>,
  close: () => Promise<void>,
): Promise<Harness> {
  const config = parseConfig({ TESSERA_SECRET: generateSecret(), LOG_LEVEL: "debug", ...env });
  const clock = createTestClock();
  const logs: string[] = [];
  const { app, deps } = await bootstrap({
    config,
    db,
    secret: config.secret as string,
    clock,
    logger: createLogger(config.logLevel, (line) => logs.push(line)),
    hasher: createPasswordHasher({ params: TEST_SCRYPT_PARAMS }),
    socketAddress: () => "127.0.0.1",
  });
  return {
    request: async (path, init) => app.request(path, init),
    clock,
    config,
    logs,
    signingKey: () => deps.keys.signingKey(),
    close,
  };
}
