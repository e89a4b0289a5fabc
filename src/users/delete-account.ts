import { and, eq, ne } from "drizzle-orm";
import {
  authEvents,
  browserSessions,
  consents,
  emailChallenges,
  identities,
  loginThrottles,
  rateLimits,
  sessions,
  users,
} from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { randomId } from "../lib/random-id.ts";
import { emailSendLimitKey } from "../rate-limits/email-send-key.ts";
import { throttleKey } from "../rate-limits/login-throttle.ts";

/**
 * Deletes an account and what hangs off it, in one atomic batch
 * (docs/design/accounts.md#account-deletion): its sessions (so every refresh token fails at
 * once and introspection answers inactive), browser sign-ins and consents, linked upstream
 * identities (so the same Google or Apple account can sign up afresh), pending emailed challenges, the sign-in delay and
 * send counter of its address, its security events — and the user row. One `account_deleted`
 * event remains (user id, time, IP, user agent; no address), pruned with the others after
 * `AUTH_EVENTS_RETENTION`, so abuse can still be traced for a while. Returns whether the user
 * existed.
 */
export async function deleteAccount(
  db: Database,
  input: {
    userId: string;
    email: string;
    now: number;
    ip: string | null;
    userAgent: string | null;
  },
): Promise<boolean> {
  const [, , , , , , , , , deleted] = await db.batch([
    db.delete(sessions).where(eq(sessions.userId, input.userId)),
    db.delete(identities).where(eq(identities.userId, input.userId)),
    db.delete(browserSessions).where(eq(browserSessions.userId, input.userId)),
    db.delete(consents).where(eq(consents.userId, input.userId)),
    db.delete(emailChallenges).where(eq(emailChallenges.userId, input.userId)),
    db.delete(loginThrottles).where(eq(loginThrottles.key, await throttleKey(input.email))),
    db.delete(rateLimits).where(eq(rateLimits.key, await emailSendLimitKey(input.email))),
    db
      .delete(authEvents)
      .where(and(eq(authEvents.userId, input.userId), ne(authEvents.type, "account_deleted"))),
    db.insert(authEvents).values({
      id: randomId(),
      userId: input.userId,
      type: "account_deleted",
      sessionId: null,
      ip: input.ip,
      userAgent: input.userAgent,
      createdAt: input.now,
    }),
    db.delete(users).where(eq(users.id, input.userId)).returning({ id: users.id }),
  ]);
  return deleted.length > 0;
}
