import type { BatchItem, BatchResponse } from "drizzle-orm/batch";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import type * as schema from "./schema.ts";

/**
 * The async SQLite database every feature is written against: libSQL (file, sqld, Turso)
 * and D1 both fit. `batch` runs its statements atomically on both (no interactive
 * transactions: D1 has none).
 */
export type Database = BaseSQLiteDatabase<"async", unknown, typeof schema> & {
  batch<U extends BatchItem<"sqlite">, T extends Readonly<[U, ...U[]]>>(
    batch: T,
  ): Promise<BatchResponse<T>>;
};
