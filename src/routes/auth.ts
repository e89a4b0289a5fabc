import { createRoute, z } from "@hono/zod-openapi";
import { ApiError } from "../http/api-error.ts";
import { limitEmailSends } from "../http/email-limits.ts";
import { rateLimit } from "../http/middleware/rate-limit/index.ts";
import { recordEvent } from "../http/record-event.ts";
import { assertAllowedOrigin } from "../http/refresh-cookie.ts";
import { createRouter } from "../http/router.ts";
import { commonErrors, EmailSchema, errorResponse, TokenResponseSchema } from "../http/schemas.ts";
import { sendChallenge } from "../http/send-challenge.ts";
import { sendEmail } from "../http/send-email.ts";
import { invalidCredentials, startSession } from "../http/start-session.ts";
import { acceptNewPassword, normalizePassword } from "../passwords/policy.ts";
import {
  claimLoginAttempt,
  clearLoginFailures,
  throttleKey,
} from "../rate-limits/login-throttle.ts";
import { findUserByEmail, hasPassword, insertUser, updatePasswordHash } from "../users/users.ts";

const CredentialsSchema = z
  .object({
    email: EmailSchema,
    password: z.string().min(1).openapi({ example: "correct horse battery staple" }),
    cookie: z.boolean().optional().openapi({
      description:
        "SPA cookie mode: put the refresh token in an HttpOnly `__Host-tessera_refresh` cookie and leave it out of the JSON",
    }),
  })
  .openapi("Credentials");

const credentialsBody = {
  required: true,
  content: { "application/json": { schema: CredentialsSchema } },
} as const;

const authErrors = {
  403: errorResponse("forbidden: cookie mode from an origin that is not allowed"),
  429: errorResponse("too_many_requests: rate limit or sign-in delay (see Retry-After)"),
  503: errorResponse("temporarily_unavailable: password hashing queue is full"),
  ...commonErrors,
};

const signupRoute = createRoute({
  method: "post",
  path: "/v1/signup",
  tags: ["Authentication"],
  summary: "Create an account and a session",
  middleware: [rateLimit("auth")],
  request: { body: credentialsBody },
  responses: {
    201: {
      description: "The token response and the new user",
      content: { "application/json": { schema: TokenResponseSchema } },
    },
    202: {
      description:
        "EMAIL_VERIFICATION=required: the same answer for new and taken addresses; a link and code go to a new one",
      content: {
        "application/json": { schema: z.object({ verification: z.literal("sent") }) },
      },
    },
    409: errorResponse("user_exists: an account with this email exists"),
    ...authErrors,
  },
});

const loginRoute = createRoute({
  method: "post",
  path: "/v1/login",
  tags: ["Authentication"],
  summary: "Sign in with email and password",
  middleware: [rateLimit("auth")],
  request: { body: credentialsBody },
  responses: {
    200: {
      description: "The token response and the user",
      content: { "application/json": { schema: TokenResponseSchema } },
    },
    ...authErrors,
    403: errorResponse(
      "email_not_verified (EMAIL_VERIFICATION=required, right password), or forbidden (cookie mode origin)",
    ),
  },
});

const noStore = { "Cache-Control": "no-store" };

/** `POST /v1/signup` and `POST /v1/login`. */
export const authRoutes = createRouter()
  .openapi(signupRoute, async (c) => {
    const { db, hasher, clock, config } = c.var.deps;
    const { email, password, cookie = false } = c.req.valid("json");
    if (cookie) assertAllowedOrigin(c);
    const normalized = acceptNewPassword(password, { email, minLength: config.passwordMinLength });
    const verification = config.email.verification;
    if (verification === "required") {
      // One answer for new and taken addresses: the address's owner learns the rest by mail.
      await limitEmailSends(c, email);
      const passwordHash = await hasher.hash(normalized);
      const user = (await findUserByEmail(db, email))
        ? undefined
        : await insertUser(db, { email, passwordHash, now: clock.now() });
      if (user) {
        await sendChallenge(c, { purpose: "verify_email", email, userId: user.id, deliver: true });
        await recordEvent(c, { type: "signup", userId: user.id });
        c.var.deps.logger.info("signup", { request_id: c.var.requestId, user_id: user.id });
      } else {
        void sendEmail(c, "signup_attempt", email);
      }
      return c.json({ verification: "sent" as const }, 202, noStore);
    }
    if (await findUserByEmail(db, email)) {
      throw new ApiError("user_exists", "An account with this email already exists");
    }
    const passwordHash = await hasher.hash(normalized);
    const user = await insertUser(db, { email, passwordHash, now: clock.now() });
    // A concurrent signup with the same email won the unique index.
    if (!user) throw new ApiError("user_exists", "An account with this email already exists");
    const { sessionId, body } = await startSession(c, user, { cookie, verifiedHash: passwordHash });
    await recordEvent(c, { type: "signup", userId: user.id, sessionId });
    c.var.deps.logger.info("signup", { request_id: c.var.requestId, user_id: user.id });
    if (verification === "optional") {
      await sendChallenge(c, { purpose: "verify_email", email, userId: user.id, deliver: true });
    }
    return c.json(body as z.infer<typeof TokenResponseSchema>, 201, noStore);
  })
  .openapi(loginRoute, async (c) => {
    const { db, hasher, clock, logger, config } = c.var.deps;
    const { email, password, cookie = false } = c.req.valid("json");
    if (cookie) assertAllowedOrigin(c);
    const normalized = normalizePassword(password);
    // Per-account delay after failures, keyed by email so unknown ones behave the same; the
    // attempt counts as a failure from here until it succeeds.
    const throttle = await throttleKey(email);
    await claimLoginAttempt(db, throttle, clock.now());
    const user = await findUserByEmail(db, email);
    // An account without a password (passwordless sign-up) cannot sign in with one.
    if (!user || !hasPassword(user)) {
      // Same cost as a real verification, so timing does not reveal which emails exist.
      await hasher.verifyDummy(normalized);
      logger.info("login_failed", { request_id: c.var.requestId, reason: "unknown_email" });
      throw invalidCredentials();
    }
    const { valid, needsRehash } = await hasher.verify(normalized, user.passwordHash);
    if (!valid) {
      await recordEvent(c, { type: "login_failed", userId: user.id });
      logger.info("login_failed", { request_id: c.var.requestId, user_id: user.id });
      throw invalidCredentials();
    }
    await clearLoginFailures(db, throttle);
    // Only someone who knows the password learns that the address is unproven.
    if (config.email.verification === "required" && user.emailVerifiedAt === null) {
      throw new ApiError(
        "email_not_verified",
        "Verify your email address first: use the link or code we sent (POST /v1/verify-email/send sends another)",
      );
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
    const { sessionId, body } = await startSession(c, user, { cookie, verifiedHash });
    await recordEvent(c, { type: "login_succeeded", userId: user.id, sessionId });
    logger.info("login", { request_id: c.var.requestId, user_id: user.id });
    return c.json(body as z.infer<typeof TokenResponseSchema>, 200, noStore);
  });
