import type { Context } from "hono";
import type { RedeemedChallenge } from "../challenges/redeem-challenge.ts";
import { unlinkUnprovenIdentities } from "../identities/identities.ts";
import { clearLoginFailures, throttleKey } from "../rate-limits/login-throttle.ts";
import { changeEmail } from "../users/change-email.ts";
import { changePassword } from "../users/change-password.ts";
import { findUserById, markEmailVerified, type User } from "../users/users.ts";
import { ApiError } from "./api-error.ts";
import type { AppEnv } from "./app-env.ts";
import { recordEvent } from "./record-event.ts";
import { sendEmail } from "./send-email.ts";

/** The one answer to an unknown, used, expired or exhausted link or code. */
export const invalidChallenge = () =>
  new ApiError("invalid_grant", "The code or link is invalid, expired or already used");

/**
 * The inbox of an account whose address nobody had verified is proven now (an emailed code
 * or reset link): identities whose provider never verified the address stop being ways in
 * (account pre-hijacking; docs/design/upstream.md#identities-and-linking). Returns how many
 * were unlinked; each is recorded as `identity_unlinked`.
 */
export async function unlinkUnprovenIdentitiesOf(c: Context<AppEnv>, user: User): Promise<number> {
  if (user.emailVerifiedAt !== null) return 0;
  const unlinked = await unlinkUnprovenIdentities(c.get("deps").db, user.id);
  for (const identity of unlinked) {
    await recordEvent(c, { type: "identity_unlinked", userId: user.id });
    c.get("deps").logger.info("identity_unlinked", {
      request_id: c.get("requestId"),
      user_id: user.id,
      provider: identity.provider,
      reason: "address_proven_elsewhere",
    });
  }
  return unlinked.length;
}

/**
 * Applies a used `verify_email` or `change_email` challenge: the address is proven (a
 * change also moves the account to it and tells the old address). Used by the JSON API and
 * the hosted page alike. Returns the user as it now is.
 */
export async function completeEmailChallenge(
  c: Context<AppEnv>,
  challenge: RedeemedChallenge,
): Promise<User> {
  const { db, clock } = c.get("deps");
  const now = clock.now();
  if (!challenge.userId) throw invalidChallenge();
  if (challenge.purpose === "change_email") {
    const changed = await changeEmail(db, {
      userId: challenge.userId,
      newEmail: challenge.email,
      now,
    });
    if (changed === "taken") {
      throw new ApiError("user_exists", "Another account uses this address now");
    }
    if (!changed) throw invalidChallenge();
    void sendEmail(c, "email_changed_notice", changed.previousEmail, {
      newEmail: changed.user.email,
    });
    await recordEvent(c, { type: "email_changed", userId: changed.user.id });
    return changed.user;
  }
  const user = await markEmailVerified(db, {
    userId: challenge.userId,
    email: challenge.email,
    now,
  });
  if (!user) throw invalidChallenge();
  await recordEvent(c, { type: "email_verified", userId: user.id });
  return user;
}

/**
 * Applies a used `reset_password` challenge with the new password's hash: one batch stores it
 * and ends every session; the address counts as proven and its sign-in delay is lifted.
 */
export async function completePasswordReset(
  c: Context<AppEnv>,
  challenge: RedeemedChallenge,
  passwordHash: string,
): Promise<User> {
  const { db, clock } = c.get("deps");
  const now = clock.now();
  if (!challenge.userId) throw invalidChallenge();
  // A reset sent to an address the account has since left proves nothing.
  const owner = await findUserById(db, challenge.userId);
  if (owner?.email !== challenge.email) throw invalidChallenge();
  await unlinkUnprovenIdentitiesOf(c, owner);
  await changePassword(db, { userId: owner.id, passwordHash, now });
  const user = await markEmailVerified(db, {
    userId: challenge.userId,
    email: challenge.email,
    now,
  });
  if (!user) throw invalidChallenge();
  await clearLoginFailures(db, await throttleKey(user.email));
  await recordEvent(c, { type: "password_reset", userId: user.id });
  return user;
}
