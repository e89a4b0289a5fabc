import { and, asc, eq, sql } from "drizzle-orm";
import { identities, users } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { LastIdentity } from "../errors.ts";
import { NO_PASSWORD } from "../users/users.ts";

/** A user's account at an upstream provider (docs/design/upstream.md#identities-and-linking). */
export type Identity = typeof identities.$inferSelect;

/** The user's identities, oldest first. */
export async function listIdentities(db: Database, userId: string): Promise<Identity[]> {
  return db
    .select()
    .from(identities)
    .where(eq(identities.userId, userId))
    .orderBy(asc(identities.createdAt), asc(identities.id));
}

/** The identity of `subject` at provider `provider` (a name), if linked. */
export async function findIdentity(
  db: Database,
  input: { provider: string; subject: string },
): Promise<Identity | undefined> {
  const [identity] = await db
    .select()
    .from(identities)
    .where(and(eq(identities.provider, input.provider), eq(identities.subject, input.subject)))
    .limit(1);
  return identity;
}

/**
 * Unlinks one of the user's identities. Undefined when `id` is not one of theirs. Throws
 * {@link LastIdentity} when it is the account's last way in: no password and no other
 * identity. One conditional DELETE decides, so two unlinks racing for an account's last two
 * identities cannot both succeed.
 */
export async function unlinkIdentity(
  db: Database,
  input: { userId: string; id: string },
): Promise<Identity | undefined> {
  const [deleted] = await db
    .delete(identities)
    .where(
      and(
        eq(identities.id, input.id),
        eq(identities.userId, input.userId),
        sql`(exists (select 1 from ${users} where ${users.id} = ${input.userId} and ${users.passwordHash} <> ${NO_PASSWORD})
          or exists (select 1 from ${identities} as other where other.user_id = ${input.userId} and other.id <> ${input.id}))`,
      ),
    )
    .returning();
  if (deleted) return deleted;
  const [exists] = await db
    .select({ id: identities.id })
    .from(identities)
    .where(and(eq(identities.id, input.id), eq(identities.userId, input.userId)))
    .limit(1);
  if (exists) throw new LastIdentity();
  return undefined;
}

/**
 * Unlinks the user's identities whose provider never verified the address
 * (docs/design/upstream.md#identities-and-linking): called when the inbox is proven for an
 * account whose address was unverified until now (an emailed code or reset link). Whoever
 * signed in through such an identity may not own the address (account pre-hijacking), so,
 * like a password set before the proof, it stops being a way in. Returns what was unlinked.
 */
export async function unlinkUnprovenIdentities(db: Database, userId: string): Promise<Identity[]> {
  return db
    .delete(identities)
    .where(and(eq(identities.userId, userId), eq(identities.emailVerified, false)))
    .returning();
}
