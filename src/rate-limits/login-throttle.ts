import { eq, sql } from "drizzle-orm";
import { loginThrottles } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { Throttled } from "../errors.ts";
import { sha256Base64url } from "../lib/sha256.ts";

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
export const throttleKey = (email: string): Promise<string> => sha256Base64url(email);

// throttleDelayMs in SQL, over the stored row (the shift is capped: 2^10 s is past 15 min).
const storedDelayMs = sql`CASE
  WHEN ${loginThrottles.failures} < ${FREE_FAILURES} THEN 0
  WHEN ${loginThrottles.failures} >= ${MAX_FAILURES} THEN ${DAY_MS}
  ELSE MIN(${MAX_DELAY_MS}, 1000 * (1 << MIN(${loginThrottles.failures} - ${FREE_FAILURES}, 10)))
END`;

/**
 * Claims one sign-in attempt for an account before any hashing, counting it as a failure
 * until {@link clearLoginFailures} says otherwise. One atomic UPSERT: the count goes up only
 * if the account is out of its delay, so a burst of parallel guesses cannot all slip past
 * the check (each in-flight attempt is already counted).
 * @throws {@link Throttled} while the account is in its delay.
 */
export async function claimLoginAttempt(db: Database, key: string, now: number): Promise<void> {
  const claimed = await db
    .insert(loginThrottles)
    .values({ key, failures: 1, lastFailureAt: now })
    .onConflictDoUpdate({
      target: loginThrottles.key,
      set: { failures: sql`${loginThrottles.failures} + 1`, lastFailureAt: now },
      setWhere: sql`${loginThrottles.lastFailureAt} + ${storedDelayMs} <= ${now}`,
    })
    .returning({ failures: loginThrottles.failures });
  if (claimed.length > 0) return;
  const [row] = await db.select().from(loginThrottles).where(eq(loginThrottles.key, key)).limit(1);
  const until = row ? row.lastFailureAt + throttleDelayMs(row.failures) : now + 1000;
  throw new Throttled((until - now) / 1000, "Too many failed sign-ins; retry later");
}

/** A success resets the count. */
export async function clearLoginFailures(db: Database, key: string): Promise<void> {
  await db.delete(loginThrottles).where(eq(loginThrottles.key, key));
}
