import { eq } from "drizzle-orm";
import { sessions } from "../db/schema.ts";
import type { Database } from "../db/types.ts";

/** A session row. */
export type Session = typeof sessions.$inferSelect;

/** The session with this id, revoked or not, if it exists. */
export async function findSession(db: Database, sessionId: string): Promise<Session | undefined> {
  const [session] = await db.select().from(sessions).where(eq(sessions.id, sessionId)).limit(1);
  return session;
}
