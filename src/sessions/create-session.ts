import { sessions } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { randomId } from "../lib/random-id.ts";
import type { SessionPolicy } from "./session-policy.ts";

/**
 * A new session at generation 0. The code flow passes its own `id` (recorded on the code
 * first, for replay revocation), its granted `scope`, the sign-in's `authTime`, and a
 * client's shorter `maxAgeMs`.
 */
export async function createSession(
  db: Database,
  policy: SessionPolicy,
  input: {
    userId: string;
    clientId: string;
    userAgent?: string;
    ip?: string;
    now: number;
    id?: string;
    scope?: string | null;
    authTime?: number | null;
    maxAgeMs?: number;
  },
) {
  const row = {
    id: input.id ?? randomId(),
    userId: input.userId,
    clientId: input.clientId,
    generation: 0,
    createdAt: input.now,
    lastUsedAt: input.now,
    rotatedAt: input.now,
    expiresAt: input.now + Math.min(policy.maxAgeMs, input.maxAgeMs ?? policy.maxAgeMs),
    userAgent: input.userAgent?.slice(0, 512) ?? null,
    ip: input.ip ?? null,
    scope: input.scope ?? null,
    authTime: input.authTime ?? null,
  };
  await db.insert(sessions).values(row);
  return row;
}
