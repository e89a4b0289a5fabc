import type { Context } from "hono";
import { acceptNewPassword, normalizePassword } from "../passwords/policy.ts";
import {
  claimLoginAttempt,
  clearLoginFailures,
  throttleKey,
} from "../rate-limits/login-throttle.ts";
import {
  findUserByEmail,
  hasPassword,
  insertUser,
  type User,
  updatePasswordHash,
} from "../users/users.ts";
import { ApiError } from "./api-error.ts";
import type { AppEnv } from "./app-env.ts";
import { limitEmailSends } from "./email-limits.ts";
import { recordEvent } from "./record-event.ts";
import { sendChallenge } from "./send-challenge.ts";
import { sendEmail } from "./send-email.ts";
import { invalidCredentials } from "./start-session.ts";

/**
 * Password sign-up, sign-in and "forgot password", once for both front doors: the JSON API
 * (`POST /v1/signup`, `/v1/login`, `/v1/password/forgot`, which answer with tokens or 202) and
 * the hosted pages of the authorization flow (`/authorize/sign-up`, `/authorize/sign-in`,
 * `/authorize/forgot-password`, which answer with pages and a browser session). Each caller
 * starts its own kind of session; everything before that is here.
 */

/** The error a right password for an unproven address gets under `EMAIL_VERIFICATION=required`. */
export const emailNotVerified = () =>
  new ApiError(
    "email_not_verified",
    "Verify your email address first: use the link or code we sent (POST /v1/verify-email/send sends another)",
  );

/**
 * Checks an email and password: the per-account delay is claimed first (keyed by the email,
 * so unknown ones behave the same; the attempt counts as a failure until it succeeds), an
 * unknown address or an account without a password costs one dummy verification (timing
 * says nothing), an outdated hash is upgraded. Only someone who gave the right password learns
 * that the address is unproven (`EMAIL_VERIFICATION=required`).
 *
 * Returns the user and the hash the password was checked against (`startSession`'s
 * `verifiedHash`). The caller records `login_succeeded` with the session it starts.
 * @throws {@link ApiError} `invalid_grant` (either part wrong, one message), `email_not_verified`;
 *   `Throttled` (the delay), `InvalidInput` (password over 1024 bytes), `HasherBusy`.
 */
export async function signInWithPassword(
  c: Context<AppEnv>,
  input: { email: string; password: string },
): Promise<{ user: User; verifiedHash: string }> {
  const { db, hasher, clock, logger, config } = c.get("deps");
  const normalized = normalizePassword(input.password);
  const throttle = await throttleKey(input.email);
  await claimLoginAttempt(db, throttle, clock.now());
  const user = await findUserByEmail(db, input.email);
  // An account without a password (passwordless sign-up) cannot sign in with one.
  if (!user || !hasPassword(user)) {
    // Same cost as a real verification, so timing does not reveal which emails exist.
    await hasher.verifyDummy(normalized);
    logger.info("login_failed", { request_id: c.get("requestId"), reason: "unknown_email" });
    throw invalidCredentials();
  }
  const { valid, needsRehash } = await hasher.verify(normalized, user.passwordHash);
  if (!valid) {
    await recordEvent(c, { type: "login_failed", userId: user.id });
    logger.info("login_failed", { request_id: c.get("requestId"), user_id: user.id });
    throw invalidCredentials();
  }
  await clearLoginFailures(db, throttle);
  if (config.email.verification === "required" && user.emailVerifiedAt === null) {
    throw emailNotVerified();
  }
  let verifiedHash = user.passwordHash;
  if (needsRehash) {
    const passwordHash = await hasher.hash(normalized);
    const replacing = user.passwordHash;
    if (
      await updatePasswordHash(db, { userId: user.id, passwordHash, now: clock.now(), replacing })
    ) {
      verifiedHash = passwordHash;
    }
  }
  return { user, verifiedHash };
}

/** What a sign-up came to. */
export type PasswordSignUp =
  /** `EMAIL_VERIFICATION=required`: the same for a new and a taken address; no session yet. */
  | { status: "verification_sent" }
  /** The account exists; the caller signs it in, then calls {@link welcomeNewAccount}. */
  | { status: "created"; user: User; passwordHash: string };

/**
 * Creates an account with a password: the policy (NIST; `InvalidInput` naming `password`),
 * the hash, the insert. With `EMAIL_VERIFICATION=required` the answer is the same for new and
 * taken addresses (docs/design/accounts.md#no-enumeration): a new one gets a verification link
 * and code, a taken one's owner a "someone tried to sign up" message, and nobody is signed in.
 * @throws {@link ApiError} `user_exists` (not `required`), `InvalidInput`, `Throttled` (the
 *   send limit, `required` only), `HasherBusy`.
 */
export async function signUpWithPassword(
  c: Context<AppEnv>,
  input: { email: string; password: string },
): Promise<PasswordSignUp> {
  const { db, hasher, clock, config } = c.get("deps");
  const { email } = input;
  const normalized = acceptNewPassword(input.password, {
    email,
    minLength: config.passwordMinLength,
  });
  if (config.email.verification === "required") {
    await limitEmailSends(c, email);
    const passwordHash = await hasher.hash(normalized);
    const user = (await findUserByEmail(db, email))
      ? undefined
      : await insertUser(db, { email, passwordHash, now: clock.now() });
    if (user) {
      await sendChallenge(c, { purpose: "verify_email", email, userId: user.id, deliver: true });
      await recordEvent(c, { type: "signup", userId: user.id });
      c.get("deps").logger.info("signup", { request_id: c.get("requestId"), user_id: user.id });
    } else {
      void sendEmail(c, "signup_attempt", email);
    }
    return { status: "verification_sent" };
  }
  if (await findUserByEmail(db, email)) throw userExists();
  const passwordHash = await hasher.hash(normalized);
  const user = await insertUser(db, { email, passwordHash, now: clock.now() });
  // A concurrent signup with the same email won the unique index.
  if (!user) throw userExists();
  return { status: "created", user, passwordHash };
}

const userExists = () => new ApiError("user_exists", "An account with this email already exists");

/**
 * After a created account was signed in: the `signup` event (with the session, when the
 * caller started a token session) and, with `EMAIL_VERIFICATION=optional`, the verification
 * link and code.
 */
export async function welcomeNewAccount(
  c: Context<AppEnv>,
  user: User,
  sessionId?: string,
): Promise<void> {
  await recordEvent(c, { type: "signup", userId: user.id, sessionId });
  c.get("deps").logger.info("signup", { request_id: c.get("requestId"), user_id: user.id });
  if (c.get("deps").config.email.verification === "optional") {
    await sendChallenge(c, {
      purpose: "verify_email",
      email: user.email,
      userId: user.id,
      deliver: true,
    });
  }
}

/**
 * "Forgot password": a reset link (to `/reset-password`) and code for the address, counted
 * against the send limits first. The same work and the same outcome for an address without an
 * account (the challenge is stored, only the message is left out).
 * @throws `Throttled` past a send limit.
 */
export async function requestPasswordReset(c: Context<AppEnv>, email: string): Promise<void> {
  await limitEmailSends(c, email);
  const user = await findUserByEmail(c.get("deps").db, email);
  await sendChallenge(c, {
    purpose: "reset_password",
    email,
    userId: user?.id ?? null,
    deliver: user !== undefined,
  });
}
