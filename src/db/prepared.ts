import type { Database } from "./types.ts";

const cache = new WeakMap<Database, Map<string, unknown>>();

/**
 * A drizzle prepared query built once per database and reused: building the SQL of a
 * query costs ~35 µs a call through drizzle, a fifth of `/v1/me` (see docs/performance.md).
 * `name` must be unique per query shape.
 */
export function prepared<T>(db: Database, name: string, build: (db: Database) => T): T {
  let queries = cache.get(db);
  if (!queries) {
    queries = new Map();
    cache.set(db, queries);
  }
  let query = queries.get(name) as T | undefined;
  if (query === undefined) {
    query = build(db);
    queries.set(name, query);
  }
  return query;
}
