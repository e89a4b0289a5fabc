import { and, asc, eq, gt, isNull } from "drizzle-orm";
import { sessions } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { type SessionPolicy, sessionEndsAt } from "./session-policy.ts";

/** One item of `GET /v1/sessions`. Times are ISO 8601 UTC. */
export type SessionView = {
  id: string;
  current: boolean;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  user_agent: string | null;
  ip: string | null;
};

/** The user's live sessions, oldest first; `current` marks `currentSessionId`. */
export async function listSessions(
  db: Database,
  policy: SessionPolicy,
  input: { userId: string; currentSessionId: string; now: number },
): Promise<SessionView[]> {
  const rows = await db
    .select()
    .from(sessions)
    .where(
      and(
        eq(sessions.userId, input.userId),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, input.now),
        gt(sessions.lastUsedAt, input.now - policy.idleTtlMs),
      ),
    )
    .orderBy(asc(sessions.createdAt));
  return rows.map((s) => ({
    id: s.id,
    current: s.id === input.currentSessionId,
    created_at: new Date(s.createdAt).toISOString(),
    last_used_at: new Date(s.lastUsedAt).toISOString(),
    expires_at: new Date(sessionEndsAt(policy, s)).toISOString(),
    user_agent: s.userAgent,
    ip: s.ip,
  }));
}
