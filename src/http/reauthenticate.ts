import type { Context } from "hono";
import { normalizePassword } from "../passwords/policy.ts";
import {
  claimLoginAttempt,
  clearLoginFailures,
  throttleKey,
} from "../rate-limits/login-throttle.ts";
import { findSession } from "../sessions/find-session.ts";
import { hasPassword, type User } from "../users/users.ts";
import { ApiError } from "./api-error.ts";
import type { AppEnv } from "./app-env.ts";

/** A passwordless account proves itself by a sign-in this recent. */
export const RECENT_SIGN_IN_MS = 5 * 60_000;

/**
 * Re-authentication before a sensitive change (new address, account deletion): an account
 * with a password must give it (a wrong one counts like a failed sign-in, so a stolen access
 * token is no way to guess it); an account without one must have signed in, in this
 * session, within the last five minutes.
 */
export async function reauthenticate(
  c: Context<AppEnv>,
  user: User,
  password: string | undefined,
): Promise<void> {
  const { db, hasher, clock } = c.get("deps");
  if (hasPassword(user)) {
    if (password === undefined) {
      throw new ApiError("invalid_request", "password is required", {
        issues: [{ path: "password", message: "Required" }],
      });
    }
    const normalized = normalizePassword(password);
    const throttle = await throttleKey(user.email);
    await claimLoginAttempt(db, throttle, clock.now());
    if (!(await hasher.verify(normalized, user.passwordHash)).valid) {
      throw new ApiError("invalid_grant", "The password is incorrect");
    }
    await clearLoginFailures(db, throttle);
    return;
  }
  const session = await findSession(db, c.get("auth").sid);
  if (!session || clock.now() - session.createdAt > RECENT_SIGN_IN_MS) {
    throw new ApiError(
      "forbidden",
      "Sign in again: this needs a sign-in within the last 5 minutes",
    );
  }
}
