import { lt } from "drizzle-orm";
import { loginThrottles, rateLimits } from "../db/schema.ts";
import type { Database } from "../db/types.ts";

const DAY_MS = 86_400_000;

/**
 * Deletes rate-limit counters and sign-in delays nobody can be subject to any more: counters
 * whose window started over a day ago (windows are at most a day long in practice), and
 * failure counts older than two days (the longest delay is one day). Run by the scheduled
 * maintenance, so one row per client IP or attempted email does not pile up forever.
 */
export async function pruneThrottles(
  db: Database,
  now: number,
): Promise<{ rateLimits: number; loginThrottles: number }> {
  const counters = await db
    .delete(rateLimits)
    .where(lt(rateLimits.windowStart, now - DAY_MS))
    .returning({ key: rateLimits.key });
  const delays = await db
    .delete(loginThrottles)
    .where(lt(loginThrottles.lastFailureAt, now - 2 * DAY_MS))
    .returning({ key: loginThrottles.key });
  return { rateLimits: counters.length, loginThrottles: delays.length };
}
