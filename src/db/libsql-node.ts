import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { type Client, createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
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
  const client = createClient({ url: options.url, authToken: options.authToken, timeout: 5000 });
  if (path !== undefined && path !== ":memory:") {
    // WAL (persistent in the file) lets readers run beside the writer.
    await client.execute("PRAGMA journal_mode = WAL");
  }
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder: options.migrationsFolder });
  return { db, client };
}
