import { eq } from "drizzle-orm";
import { users } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { revokeUserSessionsStatement } from "../sessions/revoke-sessions.ts";

/**
 * Stores a user's new password hash and ends their other sessions (all but
 * `exceptSessionId`, or all) in one atomic batch (docs/design/storage.md#state-changes): a
 * crash between the two can never leave a new password beside sessions the old one opened.
 * Returns how many sessions ended.
 */
export async function changePassword(
  db: Database,
  input: { userId: string; passwordHash: string; exceptSessionId?: string; now: number },
): Promise<{ sessionsRevoked: number }> {
  const [, revoked] = await db.batch([
    db
      .update(users)
      .set({ passwordHash: input.passwordHash, updatedAt: input.now })
      .where(eq(users.id, input.userId)),
    revokeUserSessionsStatement(db, {
      userId: input.userId,
      exceptSessionId: input.exceptSessionId,
      reason: "password_changed",
      now: input.now,
    }),
  ]);
  return { sessionsRevoked: revoked.length };
}
