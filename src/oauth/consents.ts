import { and, eq } from "drizzle-orm";
import { parseScopes } from "../clients/client.ts";
import { consents } from "../db/schema.ts";
import type { Database } from "../db/types.ts";

/** Whether the user already granted `clientId` every scope in `scope`. */
export async function hasConsent(
  db: Database,
  input: { userId: string; clientId: string; scope: readonly string[] },
): Promise<boolean> {
  const [row] = await db
    .select({ scope: consents.scope })
    .from(consents)
    .where(and(eq(consents.userId, input.userId), eq(consents.clientId, input.clientId)))
    .limit(1);
  if (!row) return false;
  const granted = new Set(parseScopes(row.scope));
  return input.scope.every((s) => granted.has(s));
}

/** Records a grant; the scopes add to what was granted before. */
export async function recordConsent(
  db: Database,
  input: { userId: string; clientId: string; scope: readonly string[]; now: number },
): Promise<void> {
  const [row] = await db
    .select({ scope: consents.scope })
    .from(consents)
    .where(and(eq(consents.userId, input.userId), eq(consents.clientId, input.clientId)))
    .limit(1);
  const scope = [...new Set([...parseScopes(row?.scope), ...input.scope])].join(" ");
  await db
    .insert(consents)
    .values({ userId: input.userId, clientId: input.clientId, scope, createdAt: input.now })
    .onConflictDoUpdate({ target: [consents.userId, consents.clientId], set: { scope } });
}
