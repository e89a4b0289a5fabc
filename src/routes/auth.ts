import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { FIRST_PARTY_CLIENT_ID } from "../clients/client.ts";
import { ApiError } from "../http/api-error.ts";
import type { AppEnv } from "../http/app-env.ts";
import { clientIp } from "../http/client-ip.ts";
import { rateLimit } from "../http/middleware/rate-limit/index.ts";
import { recordEvent } from "../http/record-event.ts";
import { assertAllowedOrigin, inCookie } from "../http/refresh-cookie.ts";
import { createRouter } from "../http/router.ts";
import { commonErrors, errorResponse, TokenResponseSchema } from "../http/schemas.ts";
import { tokenDeps } from "../http/token-deps.ts";
import { acceptNewPassword, normalizePassword } from "../passwords/policy.ts";
import {
  claimLoginAttempt,
  clearLoginFailures,
  throttleKey,
} from "../rate-limits/login-throttle.ts";
import { createSession } from "../sessions/create-session.ts";
import { revokeSession } from "../sessions/revoke-sessions.ts";
import { sessionPolicy } from "../sessions/session-policy.ts";
import { issueTokens } from "../tokens/issue-tokens.ts";
import {
  findUserByEmail,
  findUserById,
  insertUser,
  type User,
  updatePasswordHash,
  userView,
} from "../users/users.ts";

/** Trimmed, lower-cased, ≤ 254 characters (RFC 5321 path limit), a valid address. */
export const EmailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .email()
  .openapi({ example: "ada@example.com" });

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
  },
});

/**
 * Starts a first-party session for `user` and builds the token response; in cookie mode
 * the refresh token goes into the `__Host-` cookie instead of the JSON.
 */
async function startSession(c: Context<AppEnv>, user: User, cookie: boolean, verifiedHash: string) {
  const { db, config, clock } = c.var.deps;
  const policy = sessionPolicy(config);
  const now = clock.now();
  const session = await createSession(db, policy, {
    userId: user.id,
    clientId: FIRST_PARTY_CLIENT_ID,
    userAgent: c.req.header("User-Agent"),
    ip: clientIp(c),
    now,
  });
  // A password change that landed while this sign-in was hashing revoked every session but
  // its own, possibly before this one existed. Checked after the insert, so either the
  // change's revocation saw this session or this check sees the new hash.
  if ((await findUserById(db, user.id))?.passwordHash !== verifiedHash) {
    await revokeSession(db, { sessionId: session.id, reason: "password_changed", now });
    throw invalidCredentials();
  }
  const tokens = {
    ...(await issueTokens(
      tokenDeps(c.var.deps),
      policy,
      { ...session, sessionId: session.id },
      now,
    )),
    user: userView(user),
  };
  return { session, body: cookie ? inCookie(c, tokens) : tokens };
}

const invalidCredentials = () => new ApiError("invalid_grant", "Invalid email or password");
const noStore = { "Cache-Control": "no-store" };

/** `POST /v1/signup` and `POST /v1/login`. */
export const authRoutes = createRouter()
  .openapi(signupRoute, async (c) => {
    const { db, hasher, clock, config } = c.var.deps;
    const { email, password, cookie = false } = c.req.valid("json");
    if (cookie) assertAllowedOrigin(c);
    const normalized = acceptNewPassword(password, { email, minLength: config.passwordMinLength });
    if (await findUserByEmail(db, email)) {
      throw new ApiError("user_exists", "An account with this email already exists");
    }
    const passwordHash = await hasher.hash(normalized);
    const user = await insertUser(db, { email, passwordHash, now: clock.now() });
    // A concurrent signup with the same email won the unique index.
    if (!user) throw new ApiError("user_exists", "An account with this email already exists");
    const { session, body } = await startSession(c, user, cookie, passwordHash);
    await recordEvent(c, { type: "signup", userId: user.id, sessionId: session.id });
    c.var.deps.logger.info("signup", { request_id: c.var.requestId, user_id: user.id });
    return c.json(body as z.infer<typeof TokenResponseSchema>, 201, noStore);
  })
  .openapi(loginRoute, async (c) => {
    const { db, hasher, clock, logger } = c.var.deps;
    const { email, password, cookie = false } = c.req.valid("json");
    if (cookie) assertAllowedOrigin(c);
    const normalized = normalizePassword(password);
    // Per-account delay after failures, keyed by email so unknown ones behave the same; the
    // attempt counts as a failure from here until it succeeds.
    const throttle = await throttleKey(email);
    await claimLoginAttempt(db, throttle, clock.now());
    const user = await findUserByEmail(db, email);
    if (!user) {
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
    const { session, body } = await startSession(c, user, cookie, verifiedHash);
    await recordEvent(c, { type: "login_succeeded", userId: user.id, sessionId: session.id });
    logger.info("login", { request_id: c.var.requestId, user_id: user.id });
    return c.json(body as z.infer<typeof TokenResponseSchema>, 200, noStore);
  });
