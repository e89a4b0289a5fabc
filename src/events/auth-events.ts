import { and, desc, eq, lt, sql } from "drizzle-orm";
import { authEvents } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { randomId } from "../lib/random-id.ts";

/** What a user can see happened to their account. */
export const AUTH_EVENT_TYPES = [
  "signup",
  "login_succeeded",
  "login_failed",
  "refresh_token_reuse",
  "logout",
  "password_changed",
  "session_revoked",
  "email_verified",
  "password_reset",
  "email_changed",
  "otp_sign_in",
  "account_deleted",
  "identity_linked",
  "identity_unlinked",
  "upstream_sign_in",
] as const;
export type AuthEventType = (typeof AUTH_EVENT_TYPES)[number];

/** One item of `GET /v1/events`. */
export type AuthEventView = {
  id: string;
  type: AuthEventType;
  created_at: string;
  session_id: string | null;
  ip: string | null;
  user_agent: string | null;
};

/** Inserts an event row. */
export async function insertEvent(
  db: Database,
  event: {
    type: AuthEventType;
    userId: string;
    sessionId?: string | null;
    ip: string | null;
    userAgent: string | null;
    now: number;
  },
): Promise<void> {
  await db.insert(authEvents).values({
    id: randomId(),
    userId: event.userId,
    type: event.type,
    sessionId: event.sessionId ?? null,
    ip: event.ip,
    userAgent: event.userAgent,
    createdAt: event.now,
  });
}

/** The user's events, newest first. */
export async function listEvents(
  db: Database,
  input: { userId: string; limit: number; type?: AuthEventType },
): Promise<AuthEventView[]> {
  const rows = await db
    .select()
    .from(authEvents)
    .where(
      and(
        eq(authEvents.userId, input.userId),
        input.type ? eq(authEvents.type, input.type) : undefined,
      ),
    )
    // rowid breaks ties within one millisecond in insertion order.
    .orderBy(desc(authEvents.createdAt), desc(sql`rowid`))
    .limit(input.limit);
  return rows.map((e) => ({
    id: e.id,
    type: e.type as AuthEventType,
    created_at: new Date(e.createdAt).toISOString(),
    session_id: e.sessionId,
    ip: e.ip,
    user_agent: e.userAgent,
  }));
}

/** Deletes events older than the retention (`AUTH_EVENTS_RETENTION`); returns how many. */
export async function pruneEvents(db: Database, olderThan: number): Promise<number> {
  const rows = await db
    .delete(authEvents)
    .where(lt(authEvents.createdAt, olderThan))
    .returning({ id: authEvents.id });
  return rows.length;
}
