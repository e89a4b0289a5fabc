import { and, eq, isNull, lte } from "drizzle-orm";
import { authorizationCodes } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { randomSecret } from "../lib/random-id.ts";
import { sha256Base64url } from "../lib/sha256.ts";
import type { AuthorizationRequest } from "./authorization-request.ts";

/** OAuth 2.1 §4.1.2: codes are short-lived; 60 s is plenty for a redirect and one POST. */
export const CODE_TTL_MS = 60_000;

/** What an authorization code stands for. */
export type CodeGrant = typeof authorizationCodes.$inferSelect;

/** Issues a code for an approved request; only its SHA-256 is stored. */
export async function issueAuthorizationCode(
  db: Database,
  input: {
    request: AuthorizationRequest;
    userId: string;
    authTime: number;
    browserSessionId: string | null;
    now: number;
  },
): Promise<string> {
  const code = randomSecret();
  await db.insert(authorizationCodes).values({
    codeHash: await sha256Base64url(code),
    clientId: input.request.clientId,
    userId: input.userId,
    redirectUri: input.request.redirectUri,
    codeChallenge: input.request.codeChallenge,
    scope: input.request.scope.join(" "),
    nonce: input.request.nonce ?? null,
    authTime: input.authTime,
    browserSessionId: input.browserSessionId,
    createdAt: input.now,
    expiresAt: input.now + CODE_TTL_MS,
  });
  return code;
}

/**
 * Marks a code used, atomically, recording `sessionId` — the session its exchange is about to
 * start — in the same statement: `{ grant }` for its first use within its lifetime;
 * `{ replayed }` with the session its first use started when it was used before (RFC 6749
 * §10.5, OAuth 2.1 §4.1.3: the caller revokes that session); undefined when unknown or expired.
 */
export async function redeemAuthorizationCode(
  db: Database,
  input: { code: string; sessionId: string; now: number },
): Promise<{ grant: CodeGrant } | { replayed: { sessionId: string | null } } | undefined> {
  const codeHash = await sha256Base64url(input.code);
  const [grant] = await db
    .update(authorizationCodes)
    .set({ usedAt: input.now, sessionId: input.sessionId })
    .where(and(eq(authorizationCodes.codeHash, codeHash), isNull(authorizationCodes.usedAt)))
    .returning();
  if (grant) return grant.expiresAt > input.now ? { grant } : undefined;
  const [used] = await db
    .select({ sessionId: authorizationCodes.sessionId })
    .from(authorizationCodes)
    .where(eq(authorizationCodes.codeHash, codeHash))
    .limit(1);
  return used ? { replayed: used } : undefined;
}

/** Scheduled clean-up: codes past their life (used ones are kept a day, for replay detection). */
export async function pruneAuthorizationCodes(db: Database, now: number): Promise<number> {
  const rows = await db
    .delete(authorizationCodes)
    .where(lte(authorizationCodes.expiresAt, now - 86_400_000))
    .returning({ codeHash: authorizationCodes.codeHash });
  return rows.length;
}
