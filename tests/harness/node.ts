import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createApp } from "../../src/app.ts";
import { parseConfig } from "../../src/config.ts";
import { openNodeDatabase } from "../../src/db/libsql-node.ts";
import { ensureSigningKeys } from "../../src/keys/ensure-signing-keys.ts";
import { createKeyStore } from "../../src/keys/key-store.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { createPasswordHasher } from "../../src/passwords/hasher.ts";
import { deriveKeys, generateSecret } from "../../src/secrets/derive-keys.ts";
import { createTestClock, type Harness, type HarnessFactory } from "./types.ts";

export const MIGRATIONS = fileURLToPath(new URL("../../migrations", import.meta.url));

/** Test scrypt cost: the PHC format and code path are the production ones, only cheaper. */
export const TEST_SCRYPT_PARAMS = { ln: 10, r: 8, p: 1 };

/**
 * The Node harness: a fresh libSQL file in a temp dir, migrations applied, keys created,
 * the app built exactly as `src/node.ts` builds it, with a hand-moved clock.
 */
export const createNodeHarness: HarnessFactory = async (env = {}) => {
  const dir = await mkdtemp(join(tmpdir(), "tessera-test-"));
  const config = parseConfig({ TESSERA_SECRET: generateSecret(), LOG_LEVEL: "debug", ...env });
  const clock = createTestClock();
  const logs: string[] = [];
  const logger = createLogger(config.logLevel, (line) => logs.push(line));
  const { refreshMacKey, keyEncryptionKey } = await deriveKeys(config.secret as string);
  const { db, client } = await openNodeDatabase({
    url: `file:${join(dir, "tessera.db")}`,
    migrationsFolder: MIGRATIONS,
  });
  await ensureSigningKeys(db, { alg: config.signingAlg, keyEncryptionKey, now: clock.now() });
  const keys = createKeyStore({ db, keyEncryptionKey, clock });
  const app = createApp({
    config,
    db,
    clock,
    keys,
    hasher: createPasswordHasher({ params: TEST_SCRYPT_PARAMS }),
    refreshMacKey,
    logger,
    socketAddress: () => "127.0.0.1",
  });
  const harness: Harness = {
    request: async (path, init) => app.request(path, init),
    clock,
    config,
    logs,
    signingKey: () => keys.signingKey(),
    close: async () => {
      client.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return harness;
};
