import { eq } from "drizzle-orm";
import { isUniqueViolation } from "../db/errors.ts";
import { identities, users } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { AccountExists, UpstreamSignInFailed } from "../errors.ts";
import { randomId } from "../lib/random-id.ts";
import type { UpstreamProvider } from "../providers/provider.ts";
import type { UpstreamProfile } from "../providers/upstream-profile.ts";
import {
  findUserByEmail,
  findUserById,
  markEmailVerified,
  NO_PASSWORD,
  newUserRow,
  type User,
} from "../users/users.ts";
import { findIdentity, type Identity } from "./identities.ts";

/** What an upstream sign-in resolved to. */
export type UpstreamSignIn = {
  user: User;
  identity: Identity;
  /** A new identity row was made (event `identity_linked`). */
  linked: boolean;
  /** A new user was made (event `signup`). */
  created: boolean;
};

/**
 * Resolves who signed in at an upstream provider, by the linking rules of
 * docs/design/upstream.md#identities-and-linking:
 * 1. a known (provider, subject): that user; the stored email and name are refreshed;
 * 2. else an account with the same email: linked only when both the provider and Tessera have
 *    verified the address, else {@link AccountExists};
 * 3. else a new account without a password, email verified when the provider says so, and
 *    its identity — in one batch, so no half-made account exists;
 * 4. no email and no known identity: {@link UpstreamSignInFailed}.
 *
 * With `requireVerifiedEmail` (EMAIL_VERIFICATION=required) an account whose address nobody
 * has verified is refused as password sign-in refuses it; none is created.
 *
 * Two first sign-ins racing (the same person, or one address at two providers) meet a
 * unique index; the loser reads again and resolves by the same rules.
 */
export async function signInWithUpstream(
  db: Database,
  input: {
    provider: UpstreamProvider;
    profile: UpstreamProfile;
    now: number;
    requireVerifiedEmail?: boolean;
  },
): Promise<UpstreamSignIn> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await resolve(db, input);
    } catch (error) {
      if (attempt < 3 && isUniqueViolation(error)) continue;
      throw error;
    }
  }
}

const unverifiedEmail = () =>
  new UpstreamSignInFailed(
    "email_not_verified",
    "The provider has not verified your email address; verify it there, or sign in another way",
  );

async function resolve(
  db: Database,
  input: Parameters<typeof signInWithUpstream>[1],
): Promise<UpstreamSignIn> {
  const { provider, profile, now } = input;
  const known = await findIdentity(db, { provider: provider.name, subject: profile.subject });
  if (known) {
    let user = await findUserById(db, known.userId);
    if (user) {
      // The provider now vouches for the account's own address: it is proven.
      if (user.emailVerifiedAt === null && profile.emailVerified && profile.email === user.email) {
        user = (await markEmailVerified(db, { userId: user.id, email: user.email, now })) ?? user;
      }
      if (input.requireVerifiedEmail && user.emailVerifiedAt === null) throw unverifiedEmail();
      const [identity] = await db
        .update(identities)
        .set({
          // Apple sends the name once, and a provider may stop sharing the address: keep what is known.
          email: profile.email ?? known.email,
          emailVerified: profile.email !== null ? profile.emailVerified : known.emailVerified,
          name: profile.name ?? known.name,
          lastUsedAt: now,
        })
        .where(eq(identities.id, known.id))
        .returning();
      return { user, identity: identity ?? known, linked: false, created: false };
    }
    // An identity whose user is gone (deleted where foreign keys are not enforced): drop it.
    await db.delete(identities).where(eq(identities.id, known.id));
  }
  const email = profile.email;
  if (email === null) {
    throw new UpstreamSignInFailed("no_email", "The provider did not share an email address");
  }
  const identityRow = (userId: string): typeof identities.$inferInsert & { id: string } => ({
    id: randomId(),
    userId,
    provider: provider.name,
    subject: profile.subject,
    email,
    emailVerified: profile.emailVerified,
    name: profile.name,
    createdAt: now,
    lastUsedAt: now,
  });
  const existing = await findUserByEmail(db, email);
  if (existing) {
    // Linking an unverified side would hand one side's owner the other's account.
    if (!profile.emailVerified || existing.emailVerifiedAt === null) throw new AccountExists();
    const [identity] = await db.insert(identities).values(identityRow(existing.id)).returning();
    return { user: existing, identity: identity as Identity, linked: true, created: false };
  }
  if (input.requireVerifiedEmail && !profile.emailVerified) throw unverifiedEmail();
  const userRow = newUserRow({
    email,
    passwordHash: NO_PASSWORD,
    now,
    emailVerified: profile.emailVerified,
  });
  const [[user], [identity]] = await db.batch([
    db.insert(users).values(userRow).returning(),
    db.insert(identities).values(identityRow(userRow.id)).returning(),
  ]);
  return {
    user: user as User,
    identity: identity as Identity,
    linked: true,
    created: true,
  };
}
