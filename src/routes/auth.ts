import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../app-env.ts";
import { ApiError } from "../errors.ts";
import { clientIp } from "../lib/client-ip.ts";
import { createRouter } from "../lib/router.ts";
import { commonErrors, errorResponse, TokenResponseSchema } from "../lib/schemas.ts";
import { acceptNewPassword, normalizePassword } from "../passwords/policy.ts";
import { createSession } from "../sessions/create-session.ts";
import { sessionPolicy } from "../sessions/session-policy.ts";
import { FIRST_PARTY_CLIENT_ID } from "../tokens/access-token.ts";
import { issueTokens } from "../tokens/issue-tokens.ts";
import {
  findUserByEmail,
  insertUser,
  type User,
  updatePasswordHash,
  userView,
} from "../users/users.ts";

const CredentialsSchema = z
  .object({
    email: z.string().trim().toLowerCase().max(254).email().openapi({ example: "ada@example.com" }),
    password: z.string().min(1).openapi({ example: "correct horse battery staple" }),
  })
  .openapi("Credentials");

const credentialsBody = {
  required: true,
  content: { "application/json": { schema: CredentialsSchema } },
} as const;

const signupRoute = createRoute({
  method: "post",
  path: "/v1/signup",
  tags: ["Authentication"],
  summary: "Create an account and a session",
  request: { body: credentialsBody },
  responses: {
    201: {
      description: "The token response and the new user",
      content: { "application/json": { schema: TokenResponseSchema } },
    },
    409: errorResponse("user_exists: an account with this email exists"),
    503: errorResponse("temporarily_unavailable: password hashing queue is full"),
    ...commonErrors,
  },
});

const loginRoute = createRoute({
  method: "post",
  path: "/v1/login",
  tags: ["Authentication"],
  summary: "Sign in with email and password",
  request: { body: credentialsBody },
  responses: {
    200: {
      description: "The token response and the user",
      content: { "application/json": { schema: TokenResponseSchema } },
    },
    503: errorResponse("temporarily_unavailable: password hashing queue is full"),
    ...commonErrors,
  },
});

/** Starts a first-party session for `user` and answers the token response. */
async function startSession(c: Context<AppEnv>, user: User) {
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
  return issueTokens(
    c.var.deps,
    policy,
    { ...session, sessionId: session.id },
    now,
    userView(user),
  );
}

const invalidCredentials = () => new ApiError("invalid_grant", "Invalid email or password");

/** `POST /v1/signup` and `POST /v1/login`. */
export const authRoutes = createRouter()
  .openapi(signupRoute, async (c) => {
    const { db, hasher, clock } = c.var.deps;
    const { email, password } = c.req.valid("json");
    const normalized = acceptNewPassword(password);
    if (await findUserByEmail(db, email)) {
      throw new ApiError("user_exists", "An account with this email already exists");
    }
    const passwordHash = await hasher.hash(normalized);
    const user = await insertUser(db, { email, passwordHash, now: clock.now() });
    // A concurrent signup with the same email won the unique index.
    if (!user) throw new ApiError("user_exists", "An account with this email already exists");
    c.var.deps.logger.info("signup", { request_id: c.var.requestId, user_id: user.id });
    return c.json(await startSession(c, user), 201, { "Cache-Control": "no-store" });
  })
  .openapi(loginRoute, async (c) => {
    const { db, hasher, clock, logger } = c.var.deps;
    const { email, password } = c.req.valid("json");
    const normalized = normalizePassword(password);
    const user = await findUserByEmail(db, email);
    if (!user) {
      // Same cost as a real verification, so timing does not reveal which emails exist.
      await hasher.verifyDummy(normalized);
      logger.info("login_failed", { request_id: c.var.requestId, reason: "unknown_email" });
      throw invalidCredentials();
    }
    const { valid, needsRehash } = await hasher.verify(normalized, user.passwordHash);
    if (!valid) {
      logger.info("login_failed", { request_id: c.var.requestId, user_id: user.id });
      throw invalidCredentials();
    }
    if (needsRehash) {
      const passwordHash = await hasher.hash(normalized);
      await updatePasswordHash(db, { userId: user.id, passwordHash, now: clock.now() });
    }
    logger.info("login", { request_id: c.var.requestId, user_id: user.id });
    return c.json(await startSession(c, user), 200, { "Cache-Control": "no-store" });
  });
