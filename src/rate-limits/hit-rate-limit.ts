import { sql } from "drizzle-orm";
import { rateLimits } from "../db/schema.ts";
import type { Database } from "../db/types.ts";

/** A limit: at most `limit` requests per `windowMs`. */
export type RateLimit = { limit: number; windowMs: number };

/**
 * Counts one request against `key` in the current fixed window, in one atomic UPSERT …
 * RETURNING (no read-modify-write race between instances). Returns the seconds until the
 * window ends when the limit is exceeded.
 */
export async function hitRateLimit(
  db: Database,
  key: string,
  { limit, windowMs }: RateLimit,
  now: number,
): Promise<{ allowed: true } | { allowed: false; retryAfterS: number }> {
  const windowStart = now - (now % windowMs);
  const [row] = await db
    .insert(rateLimits)
    .values({ key, windowStart, count: 1 })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        count: sql`CASE WHEN ${rateLimits.windowStart} = excluded.window_start THEN ${rateLimits.count} + 1 ELSE 1 END`,
        windowStart: sql`excluded.window_start`,
      },
    })
    .returning({ count: rateLimits.count });
  if (!row || row.count <= limit) return { allowed: true };
  return {
    allowed: false,
    retryAfterS: Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000)),
  };
}
