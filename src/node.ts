/**
 * Node entry: parse the environment, open the libSQL file (migrations applied), make sure
 * the master secret and signing keys exist, and serve. Runtime-specific code lives here
 * and in the database opener only.
 */
import { link, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { bootstrap } from "./bootstrap.ts";
import { type Config, ConfigError, parseConfig } from "./config.ts";
import { openNodeDatabase } from "./db/libsql-node.ts";
import { createLogger } from "./lib/logger.ts";
import { generateSecret } from "./secrets/derive-keys.ts";

/** The committed migrations: `src/node.ts` and the built `dist/node.js` both sit one level down. */
const MIGRATIONS_FOLDER = fileURLToPath(new URL("../migrations", import.meta.url));
const DEV_SECRET_FILE = "./data/secret";

/** TESSERA_SECRET, or in development the contents of ./data/secret (created 0600). */
async function masterSecret(config: Config): Promise<string> {
  if (config.secret) return config.secret;
  if (config.production) {
    throw new ConfigError("TESSERA_SECRET", "required when NODE_ENV=production");
  }
  try {
    return (await readFile(DEV_SECRET_FILE, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(dirname(DEV_SECRET_FILE), { recursive: true });
  // Write a private temp file, then link it into place: link() fails if the secret exists,
  // so a concurrent start never sees a half-written file nor overwrites another's secret.
  const temp = `${DEV_SECRET_FILE}.${process.pid}.tmp`;
  await writeFile(temp, `${generateSecret()}\n`, { mode: 0o600 });
  try {
    await link(temp, DEV_SECRET_FILE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await unlink(temp);
  }
  return (await readFile(DEV_SECRET_FILE, "utf8")).trim();
}

async function main() {
  const config = parseConfig(process.env);
  const logger = createLogger(config.logLevel);
  const secret = await masterSecret(config);
  const { db, client } = await openNodeDatabase({
    url: config.databaseUrl,
    authToken: config.databaseAuthToken,
    migrationsFolder: MIGRATIONS_FOLDER,
  });
  if (!config.rateLimits) logger.warn("rate_limits_off", { message: "RATE_LIMITS=off" });
  // Hash concurrency follows the libuv pool that runs crypto.scrypt.
  const poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const { app } = await bootstrap({
    config,
    db,
    secret,
    logger,
    hasher: { concurrency: Math.min(poolSize, Math.max(1, availableParallelism())) },
    socketAddress: (c) => getConnInfo(c).remote.address,
  });

  const server = serve({ fetch: app.fetch, port: config.port }, (info) => {
    const url = `http://localhost:${info.port}`;
    console.log(`Tessera listening on ${url} (issuer ${config.issuer})`);
  });
  const shutdown = () => {
    server.close(() => {
      client.close();
      process.exit(0);
    });
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

main().catch((error: unknown) => {
  // One line naming the problem; never a stack for a configuration mistake.
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(`Tessera failed to start: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
