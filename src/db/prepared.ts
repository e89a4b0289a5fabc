import { fillPlaceholders } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
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

/**
 * A prepared query with its values, as an item for `db.batch`: the same SQL, mapped the same
 * way, without building the query again (drizzle's batch otherwise takes query builders,
 * and building one costs 20–50 µs). drizzle's `batch` (libSQL and D1 alike) asks an item for
 * `_prepare()`, then reads `getQuery()` (SQL and parameters), binds D1's `stmt`, and maps
 * the driver's answer with `mapResult`: the view below is the prepared query itself with
 * `getQuery()` answering these values. Relies on drizzle-orm 0.45's batch protocol (pinned);
 * the rotation tests run batches through it on libSQL and D1.
 */
export function preparedBatchItem(
  query: { getQuery(): { sql: string; params: unknown[] } },
  values: Record<string, unknown>,
): BatchItem<"sqlite"> {
  const { sql, params } = query.getQuery();
  const filled = { sql, params: fillPlaceholders(params, values) };
  const view = Object.create(query, { getQuery: { value: () => filled } });
  return { _prepare: () => view } as unknown as BatchItem<"sqlite">;
}
