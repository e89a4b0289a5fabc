import { and, eq, inArray, sql } from "drizzle-orm";
import { prepared } from "../db/prepared.ts";
import { users } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { randomId } from "../lib/random-id.ts";

/** A user row. */
export type User = typeof users.$inferSelect;

/** The user as the API shows it: never the password hash. */
export type UserView = { id: string; email: string; email_verified: boolean; created_at: string };

/** The public view of a user. */
export function userView(
  user: Pick<User, "id" | "email" | "emailVerifiedAt" | "createdAt">,
): UserView {
  return {
    id: user.id,
    email: user.email,
    email_verified: user.emailVerifiedAt !== null,
    created_at: new Date(user.createdAt).toISOString(),
  };
}

/** `password_hash` of an account without a password: no password verifies against it. */
export const NO_PASSWORD = "";

/** Whether the account can sign in with a password at all. */
export const hasPassword = (user: Pick<User, "passwordHash">): boolean =>
  user.passwordHash !== NO_PASSWORD;

/** The user with this normalised email, if any. */
export async function findUserByEmail(db: Database, email: string): Promise<User | undefined> {
  const [user] = await db.select().from(users).where(eq(users.email, email)).limit(1);
  return user;
}

/**
 * The user with this id, if any (prepared once). The read-only Bearer endpoints read through
 * `deps.userById` (batched on Node, src/users/batched-user-reads.ts); flows read here.
 */
export async function findUserById(db: Database, id: string): Promise<User | undefined> {
  const query = prepared(db, "findUserById", (d) =>
    d
      .select()
      .from(users)
      .where(eq(users.id, sql.placeholder("id")))
      .limit(1)
      .prepare(),
  );
  const [user] = await query.execute({ id });
  return user;
}

/** Most ids {@link findUsersByIds} takes: D1 binds at most 100 values a statement. */
export const MAX_USER_IDS = 64;

/** `WHERE id IN (:id0, …)` for `n` ids, prepared once per database and `n`. */
const usersByIds = (db: Database, n: number) =>
  prepared(db, `usersByIds${n}`, (d) =>
    d
      .select()
      .from(users)
      .where(
        inArray(
          users.id,
          Array.from({ length: n }, (_, i) => sql.placeholder(`id${i}`)),
        ),
      )
      .prepare(),
  );

/**
 * The users with these ids, in one query, answered position by position (`undefined` where
 * none has that id; a repeated id gets the same row). At most {@link MAX_USER_IDS} distinct ids.
 */
export async function findUsersByIds(
  db: Database,
  ids: readonly string[],
): Promise<Array<User | undefined>> {
  const distinct = [...new Set(ids)];
  if (distinct.length > MAX_USER_IDS) throw new RangeError(`at most ${MAX_USER_IDS} ids`);
  if (distinct.length === 1) {
    const user = await findUserById(db, distinct[0] as string);
    return ids.map(() => user);
  }
  const rows = await usersByIds(db, distinct.length).execute(
    Object.fromEntries(distinct.map((id, i) => [`id${i}`, id])),
  );
  const byId = new Map(rows.map((user) => [user.id, user]));
  return ids.map((id) => byId.get(id));
}

/**
 * Inserts a user; undefined when the email is taken. The unique index decides, so two
 * simultaneous signups with one email cannot both succeed.
 */
export async function insertUser(
  db: Database,
  input: { email: string; passwordHash: string; now: number; emailVerified?: boolean },
): Promise<User | undefined> {
  const [user] = await db
    .insert(users)
    .values(newUserRow(input))
    .onConflictDoNothing({ target: users.email })
    .returning();
  return user;
}

/**
 * The row of a new user, for a caller that inserts it in a batch with rows that hang off it
 * (an upstream identity): there a taken email must fail the whole batch, so the caller
 * inserts it without `onConflictDoNothing` and recognises the unique violation.
 */
export function newUserRow(input: {
  id?: string;
  email: string;
  passwordHash: string;
  now: number;
  emailVerified?: boolean;
}): typeof users.$inferInsert & { id: string } {
  return {
    id: input.id ?? randomId(),
    email: input.email,
    passwordHash: input.passwordHash,
    emailVerifiedAt: input.emailVerified ? input.now : null,
    createdAt: input.now,
    updatedAt: input.now,
  };
}

/**
 * Stores a new password hash (password change; rehash on login). With `replacing`, only if
 * the stored hash is still that one — a rehash must never write an old password back over
 * a change made meanwhile. Returns whether it wrote.
 */
export async function updatePasswordHash(
  db: Database,
  input: { userId: string; passwordHash: string; now: number; replacing?: string },
): Promise<boolean> {
  const rows = await db
    .update(users)
    .set({ passwordHash: input.passwordHash, updatedAt: input.now })
    .where(
      and(
        eq(users.id, input.userId),
        input.replacing === undefined ? undefined : eq(users.passwordHash, input.replacing),
      ),
    )
    .returning({ id: users.id });
  return rows.length > 0;
}

/**
 * Marks the user's address proven, if it is still `email` (an address changed since the
 * message went out proves nothing). Returns the user as it now is, or undefined.
 */
export async function markEmailVerified(
  db: Database,
  input: { userId: string; email: string; now: number },
): Promise<User | undefined> {
  const [user] = await db
    .update(users)
    .set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, ${input.now})` })
    .where(and(eq(users.id, input.userId), eq(users.email, input.email)))
    .returning();
  return user;
}
