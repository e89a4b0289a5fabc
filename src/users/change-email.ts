import { eq } from "drizzle-orm";
import { isUniqueViolation } from "../db/errors.ts";
import { users } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import type { User } from "./users.ts";

/**
 * Moves the account to `newEmail`, proven by the code or link just used, so it is verified.
 * `taken` when another account has the address (the unique index decides, so two accounts
 * racing for one address cannot both get it).
 */
export async function changeEmail(
  db: Database,
  input: { userId: string; newEmail: string; now: number },
): Promise<{ user: User; previousEmail: string } | "taken" | undefined> {
  const [before] = await db
    .select({ email: users.email })
    .from(users)
    .where(eq(users.id, input.userId));
  if (!before) return undefined;
  try {
    const [user] = await db
      .update(users)
      .set({ email: input.newEmail, emailVerifiedAt: input.now, updatedAt: input.now })
      .where(eq(users.id, input.userId))
      .returning();
    return user ? { user, previousEmail: before.email } : undefined;
  } catch (error) {
    if (isUniqueViolation(error)) return "taken";
    throw error;
  }
}
