import { createRoute, z } from "@hono/zod-openapi";
import { rateLimit } from "../http/middleware/rate-limit/index.ts";
import {
  signInWithPassword,
  signUpWithPassword,
  welcomeNewAccount,
} from "../http/password-accounts.ts";
import { recordEvent } from "../http/record-event.ts";
import { assertAllowedOrigin } from "../http/refresh-cookie.ts";
import { createRouter } from "../http/router.ts";
import { commonErrors, EmailSchema, errorResponse, TokenResponseSchema } from "../http/schemas.ts";
import { startSession } from "../http/start-session.ts";

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
    const { email, password, cookie = false } = c.req.valid("json");
    if (cookie) assertAllowedOrigin(c);
    const signup = await signUpWithPassword(c, { email, password });
    if (signup.status === "verification_sent") {
      // One answer for new and taken addresses: the address's owner learns the rest by mail.
      return c.json({ verification: "sent" as const }, 202, noStore);
    }
    const { user, passwordHash } = signup;
    const { sessionId, body } = await startSession(c, user, { cookie, verifiedHash: passwordHash });
    await welcomeNewAccount(c, user, sessionId);
    return c.json(body as z.infer<typeof TokenResponseSchema>, 201, noStore);
  })
  .openapi(loginRoute, async (c) => {
    const { email, password, cookie = false } = c.req.valid("json");
    if (cookie) assertAllowedOrigin(c);
    const { user, verifiedHash } = await signInWithPassword(c, { email, password });
    const { sessionId, body } = await startSession(c, user, { cookie, verifiedHash });
    await recordEvent(c, { type: "login_succeeded", userId: user.id, sessionId });
    c.get("deps").logger.info("login", { request_id: c.get("requestId"), user_id: user.id });
    return c.json(body as z.infer<typeof TokenResponseSchema>, 200, noStore);
  });
