import { sessions } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { randomId } from "../lib/random-id.ts";
import type { SessionPolicy } from "./session-policy.ts";

/** A new session at generation 0. */
export async function createSession(
  db: Database,
  policy: SessionPolicy,
  input: { userId: string; clientId: string; userAgent?: string; ip?: string; now: number },
) {
  const row = {
    id: randomId(),
    userId: input.userId,
    clientId: input.clientId,
    generation: 0,
    createdAt: input.now,
    lastUsedAt: input.now,
    rotatedAt: input.now,
    expiresAt: input.now + policy.maxAgeMs,
    userAgent: input.userAgent?.slice(0, 512) ?? null,
    ip: input.ip ?? null,
  };
  await db.insert(sessions).values(row);
  return row;
}
