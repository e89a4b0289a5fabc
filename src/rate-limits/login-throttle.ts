import { eq, sql } from "drizzle-orm";
import { base64url } from "jose";
import { loginThrottles } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { ApiError } from "../errors.ts";

/** Failures allowed before any delay. */
export const FREE_FAILURES = 5;
/** NIST SP 800-63B §5.2.2: at most 100 consecutive failures; beyond, one try a day. */
export const MAX_FAILURES = 100;
const MAX_DELAY_MS = 15 * 60_000;
const DAY_MS = 86_400_000;

/**
 * The wait after `failures` consecutive failures: none for the first five, then doubling
 * from 1 s up to 15 minutes, and a day once 100 is reached. A delay, never a permanent
 * lock: a stranger guessing at someone's account cannot keep its owner out for good, and
 * reaching 100 takes about a day of sustained guessing.
 */
export function throttleDelayMs(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  if (failures >= MAX_FAILURES) return DAY_MS;
  return Math.min(MAX_DELAY_MS, 1000 * 2 ** (failures - FREE_FAILURES));
}

/** Throttle key of an account: SHA-256 of the normalised email (unknown emails alike). */
export async function throttleKey(email: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(email));
  return base64url.encode(new Uint8Array(digest));
}

/** 429 `too_many_requests` with `Retry-After` in whole seconds. */
export const tooManyRequests = (
  retryAfterS: number,
  description = "Too many attempts; retry later",
) =>
  new ApiError("too_many_requests", description, {
    headers: { "Retry-After": String(Math.max(1, Math.ceil(retryAfterS))) },
  });

/** Throws 429 while the account is in its delay after failed sign-ins; no hashing happens. */
export async function assertNotThrottled(db: Database, key: string, now: number): Promise<void> {
  const [row] = await db.select().from(loginThrottles).where(eq(loginThrottles.key, key)).limit(1);
  if (!row) return;
  const until = row.lastFailureAt + throttleDelayMs(row.failures);
  if (now < until)
    throw tooManyRequests((until - now) / 1000, "Too many failed sign-ins; retry later");
}

/** Counts one more consecutive failure (one atomic UPSERT). */
export async function recordLoginFailure(db: Database, key: string, now: number): Promise<void> {
  await db
    .insert(loginThrottles)
    .values({ key, failures: 1, lastFailureAt: now })
    .onConflictDoUpdate({
      target: loginThrottles.key,
      set: { failures: sql`${loginThrottles.failures} + 1`, lastFailureAt: now },
    });
}

/** A success resets the count. */
export async function clearLoginFailures(db: Database, key: string): Promise<void> {
  await db.delete(loginThrottles).where(eq(loginThrottles.key, key));
}
