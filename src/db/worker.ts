import { createClient } from "@libsql/client/web";
import { drizzle as drizzleD1 } from "drizzle-orm/d1";
import { drizzle as drizzleLibsql } from "drizzle-orm/libsql/web";
import { ConfigError } from "../config.ts";
import * as schema from "./schema.ts";
import type { Database } from "./types.ts";

/** The bindings and variables the Worker reads its database from. */
export type WorkerDatabaseEnv = {
  DB?: D1Database;
  DATABASE_URL?: string;
  DATABASE_AUTH_TOKEN?: string;
};

/**
 * Opens the Worker's database: the D1 binding `DB`, or Turso/sqld through
 * `@libsql/client/web` when `DATABASE_URL` is set instead. Migrations are applied outside
 * the Worker (`wrangler d1 migrations apply`, or `npm start` against the libSQL URL).
 */
export function openWorkerDatabase(env: WorkerDatabaseEnv): Database {
  if (env.DB) return drizzleD1(env.DB, { schema });
  if (env.DATABASE_URL) {
    const client = createClient({ url: env.DATABASE_URL, authToken: env.DATABASE_AUTH_TOKEN });
    return drizzleLibsql(client, { schema });
  }
  throw new ConfigError("DB", "bind a D1 database as DB, or set DATABASE_URL for Turso/libSQL");
}
