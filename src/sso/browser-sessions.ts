import { and, eq, gt, isNull, lte } from "drizzle-orm";
import { browserSessions } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { randomId, randomSecret } from "../lib/random-id.ts";
import { sha256Base64url } from "../lib/sha256.ts";

/** A live browser sign-in. */
export type BrowserSession = typeof browserSessions.$inferSelect;

/**
 * Starts a browser SSO session for `userId`; returns the cookie value (32 random bytes; only
 * its SHA-256 is stored, so a database leak yields no usable cookie).
 */
export async function createBrowserSession(
  db: Database,
  input: { userId: string; authTime: number; now: number; maxAgeMs: number },
): Promise<{ token: string; session: BrowserSession }> {
  const token = randomSecret();
  const session: BrowserSession = {
    id: randomId(),
    tokenHash: await sha256Base64url(token),
    userId: input.userId,
    authTime: input.authTime,
    createdAt: input.now,
    lastUsedAt: input.now,
    expiresAt: input.now + input.maxAgeMs,
    revokedAt: null,
  };
  await db.insert(browserSessions).values(session);
  return { token, session };
}

/** The live browser session a cookie value stands for, if any. */
export async function findBrowserSession(
  db: Database,
  input: { token: string; now: number },
): Promise<BrowserSession | undefined> {
  const [session] = await db
    .select()
    .from(browserSessions)
    .where(
      and(
        eq(browserSessions.tokenHash, await sha256Base64url(input.token)),
        isNull(browserSessions.revokedAt),
        gt(browserSessions.expiresAt, input.now),
      ),
    )
    .limit(1);
  return session;
}

/** Ends a browser session (logout). Returns whether it was live. */
export async function endBrowserSessionRow(
  db: Database,
  input: { id: string; now: number },
): Promise<boolean> {
  const rows = await db
    .update(browserSessions)
    .set({ revokedAt: input.now })
    .where(and(eq(browserSessions.id, input.id), isNull(browserSessions.revokedAt)))
    .returning({ id: browserSessions.id });
  return rows.length > 0;
}

/** Scheduled clean-up of ended and expired browser sessions. */
export async function pruneBrowserSessions(db: Database, now: number): Promise<number> {
  const rows = await db
    .delete(browserSessions)
    .where(lte(browserSessions.expiresAt, now))
    .returning({ id: browserSessions.id });
  return rows.length;
}
