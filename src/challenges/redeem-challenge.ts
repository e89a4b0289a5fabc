import { and, eq, gt, inArray, lt, lte, sql } from "drizzle-orm";
import { type ChallengePurpose, emailChallenges } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { digestsEqual } from "../lib/digests-equal.ts";
import { sha256Base64url } from "../lib/sha256.ts";
import { MAX_CODE_ATTEMPTS } from "./challenge-policy.ts";
import { codeDigest } from "./challenge-secrets.ts";

/** A used challenge: whom it was for and what it proves. */
export type RedeemedChallenge = typeof emailChallenges.$inferSelect;

/**
 * Looks a link token up without using it (the reset page checks the new password first, so a
 * refused password does not burn the link).
 */
export async function findLinkChallenge(
  db: Database,
  input: { purposes: readonly ChallengePurpose[]; token: string; now: number },
): Promise<RedeemedChallenge | undefined> {
  const [row] = await db
    .select()
    .from(emailChallenges)
    .where(
      and(
        eq(emailChallenges.tokenHash, await sha256Base64url(input.token)),
        inArray(emailChallenges.purpose, [...input.purposes]),
        gt(emailChallenges.expiresAt, input.now),
      ),
    )
    .limit(1);
  return row;
}

/**
 * Uses a link token: one `DELETE … RETURNING` by its SHA-256, so two clicks cannot both
 * succeed. Undefined when it is unknown, used, expired, or of another purpose.
 */
export async function redeemLinkToken(
  db: Database,
  input: { purposes: readonly ChallengePurpose[]; token: string; now: number },
): Promise<RedeemedChallenge | undefined> {
  const [row] = await db
    .delete(emailChallenges)
    .where(
      and(
        eq(emailChallenges.tokenHash, await sha256Base64url(input.token)),
        inArray(emailChallenges.purpose, [...input.purposes]),
        gt(emailChallenges.expiresAt, input.now),
      ),
    )
    .returning();
  return row;
}

/**
 * Uses a code. The try is counted before the comparison (one conditional UPDATE, as a
 * sign-in attempt is), so parallel guesses cannot exceed {@link MAX_CODE_ATTEMPTS}; the
 * comparison is constant-time; a match deletes the row (single use), and the last wrong try
 * deletes it too. Undefined for every refusal.
 */
export async function redeemCode(
  db: Database,
  codeKey: Uint8Array,
  input: { purpose: ChallengePurpose; subject: string; code: string; now: number },
): Promise<RedeemedChallenge | undefined> {
  const [claimed] = await db
    .update(emailChallenges)
    .set({ attempts: sql`${emailChallenges.attempts} + 1` })
    .where(
      and(
        eq(emailChallenges.purpose, input.purpose),
        eq(emailChallenges.subject, input.subject),
        gt(emailChallenges.codeExpiresAt, input.now),
        lt(emailChallenges.attempts, MAX_CODE_ATTEMPTS),
      ),
    )
    .returning({
      id: emailChallenges.id,
      codeHash: emailChallenges.codeHash,
      attempts: emailChallenges.attempts,
    });
  if (!claimed) return undefined;
  const matches =
    /^\d{6}$/.test(input.code) &&
    digestsEqual(codeDigest(codeKey, claimed.id, input.code), claimed.codeHash);
  if (!matches) {
    if (claimed.attempts >= MAX_CODE_ATTEMPTS) {
      await db.delete(emailChallenges).where(eq(emailChallenges.id, claimed.id));
    }
    return undefined;
  }
  const [row] = await db
    .delete(emailChallenges)
    .where(eq(emailChallenges.id, claimed.id))
    .returning();
  return row;
}

/** Scheduled clean-up: challenges past their end. Returns how many went. */
export async function pruneChallenges(db: Database, now: number): Promise<number> {
  const rows = await db
    .delete(emailChallenges)
    .where(lte(emailChallenges.expiresAt, now))
    .returning({ id: emailChallenges.id });
  return rows.length;
}
