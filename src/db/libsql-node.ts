import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { type Client, createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import { createWorkerClient } from "./libsql-worker.ts";
import * as schema from "./schema.ts";
import type { Database } from "./types.ts";

/** Where a `file:` URL's database lives on disk, or undefined for remote URLs. */
function filePath(url: string): string | undefined {
  if (!url.startsWith("file:")) return undefined;
  return url.startsWith("file://") ? fileURLToPath(url) : url.slice("file:".length);
}

/**
 * Opens libSQL on Node: an embedded file (created with its folder, WAL, busy timeout)
 * or a remote sqld/Turso URL; then applies the committed migrations.
 */
export async function openNodeDatabase(options: {
  url: string;
  authToken?: string | undefined;
  /** The committed drizzle-kit output folder. */
  migrationsFolder: string;
}): Promise<{ db: Database; client: Client }> {
  const path = filePath(options.url);
  if (path !== undefined && path !== ":memory:") {
    await mkdir(dirname(path), { recursive: true });
  }
  // `timeout` is SQLite's busy timeout on every pooled connection: a second process waits
  // for the write lock instead of failing with SQLITE_BUSY.
  const config = { url: options.url, authToken: options.authToken, timeout: 5000 };
  // The embedded file's driver is synchronous: it runs on its own thread, so statements and
  // commits never stop the event loop (src/db/libsql-worker.ts). Remote URLs are async anyway.
  const client =
    path !== undefined && path !== ":memory:"
      ? createWorkerClient(config, { path })
      : createClient(config);
  if (path !== undefined && path !== ":memory:") {
    // WAL (persistent in the file) lets readers run beside the writer.
    await client.execute("PRAGMA journal_mode = WAL");
  }
  const db = drizzle(client, { schema });
  await migrateWithRetry(db, options.migrationsFolder);
  return { db, client };
}

/**
 * Applies pending migrations. drizzle reads the applied list before its write transaction, so
 * two processes starting on one new file can both try the same migration; the loser's
 * transaction rolls back (SQLite reports it as a generic SQLITE_ERROR, no distinct code).
 * Trying again then finds it applied; a failure that persists over five tries is real.
 */
async function migrateWithRetry(db: Parameters<typeof migrate>[0], migrationsFolder: string) {
  for (let attempt = 1; ; attempt++) {
    try {
      await migrate(db, { migrationsFolder });
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}
