import { and, eq, isNull, ne } from "drizzle-orm";
import { sessions } from "../db/schema.ts";
import type { Database } from "../db/types.ts";

/** Why a session ended; stored in `sessions.revoked_reason`. */
export type RevokeReason =
  | "logout"
  | "logout_global"
  | "logout_others"
  | "revoked_by_user"
  | "refresh_token_reuse"
  | "token_revoked"
  | "password_changed"
  | "authorization_code_reuse";

/** Revokes one session of `userId` if it is still live; returns whether it did. */
export async function revokeSession(
  db: Database,
  input: { sessionId: string; userId?: string; reason: RevokeReason; now: number },
): Promise<boolean> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: input.now, revokedReason: input.reason })
    .where(
      and(
        eq(sessions.id, input.sessionId),
        input.userId === undefined ? undefined : eq(sessions.userId, input.userId),
        isNull(sessions.revokedAt),
      ),
    )
    .returning({ id: sessions.id });
  return rows.length > 0;
}

/**
 * The statement that revokes every live session of `userId`, or every one but
 * `exceptSessionId`, returning their ids; for `db.batch` with another state change.
 */
export function revokeUserSessionsStatement(
  db: Database,
  input: { userId: string; exceptSessionId?: string; reason: RevokeReason; now: number },
) {
  return db
    .update(sessions)
    .set({ revokedAt: input.now, revokedReason: input.reason })
    .where(
      and(
        eq(sessions.userId, input.userId),
        isNull(sessions.revokedAt),
        input.exceptSessionId === undefined ? undefined : ne(sessions.id, input.exceptSessionId),
      ),
    )
    .returning({ id: sessions.id });
}

/** Revokes every session of `userId`, or every one but `exceptSessionId`. Returns the count. */
export async function revokeUserSessions(
  db: Database,
  input: { userId: string; exceptSessionId?: string; reason: RevokeReason; now: number },
): Promise<number> {
  return (await revokeUserSessionsStatement(db, input)).length;
}
