import { createRoute, z } from "@hono/zod-openapi";
import { findLinkChallenge, redeemCode, redeemLinkToken } from "../challenges/redeem-challenge.ts";
import { completePasswordReset, invalidChallenge } from "../http/account-actions.ts";
import { rateLimit } from "../http/middleware/rate-limit/index.ts";
import { requestPasswordReset } from "../http/password-accounts.ts";
import { createRouter } from "../http/router.ts";
import {
  AcceptedSchema,
  CodeSchema,
  commonErrors,
  EmailSchema,
  errorResponse,
  LinkTokenSchema,
  TokenResponseSchema,
} from "../http/schemas.ts";
import { startSession } from "../http/start-session.ts";
import { acceptNewPassword } from "../passwords/policy.ts";

const forgotRoute = createRoute({
  method: "post",
  path: "/v1/password/forgot",
  tags: ["Accounts and email"],
  summary: "Email a password reset link and code",
  description:
    "Always 202, whether or not the address has an account. The link opens the hosted " +
    "`/reset-password` page; mobile apps use the code with `POST /v1/password/reset`.",
  middleware: [rateLimit("auth")],
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: z.object({ email: EmailSchema }) } },
    },
  },
  responses: {
    202: { description: "Accepted", content: { "application/json": { schema: AcceptedSchema } } },
    429: errorResponse("too_many_requests: send limit per address or per IP"),
    ...commonErrors,
  },
});

const NewPasswordSchema = z.string().min(1).openapi({ example: "a new long passphrase" });

const ResetSchema = z
  .union([
    z.object({ token: LinkTokenSchema, new_password: NewPasswordSchema }).strict(),
    z.object({ email: EmailSchema, code: CodeSchema, new_password: NewPasswordSchema }).strict(),
  ])
  .openapi("PasswordReset", {
    description: "`{token, new_password}` from the link, or `{email, code, new_password}`",
  });

const resetRoute = createRoute({
  method: "post",
  path: "/v1/password/reset",
  tags: ["Accounts and email"],
  summary: "Set a new password with the emailed token or code; ends every other session, signs in",
  middleware: [rateLimit("auth")],
  request: {
    body: { required: true, content: { "application/json": { schema: ResetSchema } } },
  },
  responses: {
    200: {
      description: "The token response and the user",
      content: { "application/json": { schema: TokenResponseSchema } },
    },
    503: errorResponse("temporarily_unavailable: password hashing queue is full"),
    ...commonErrors,
  },
});

const noStore = { "Cache-Control": "no-store" };

/** `POST /v1/password/forgot` and `POST /v1/password/reset`. */
export const passwordResetRoutes = createRouter()
  .openapi(forgotRoute, async (c) => {
    await requestPasswordReset(c, c.req.valid("json").email);
    return c.json({}, 202, noStore);
  })
  .openapi(resetRoute, async (c) => {
    const { db, clock, config, hasher, emailCodeKey } = c.get("deps");
    const body = c.req.valid("json");
    const now = clock.now();
    // The policy first, so a refused password does not use up the link or code.
    let email: string;
    if ("token" in body) {
      const pending = await findLinkChallenge(db, {
        purposes: ["reset_password"],
        token: body.token,
        now,
      });
      if (!pending?.userId) throw invalidChallenge();
      email = pending.email;
    } else {
      email = body.email;
    }
    const password = acceptNewPassword(body.new_password, {
      email,
      minLength: config.passwordMinLength,
      field: "new_password",
    });
    // Hashed before the link or code is used: a full hashing queue (503) must not burn it.
    const passwordHash = await hasher.hash(password);
    const challenge =
      "token" in body
        ? await redeemLinkToken(db, { purposes: ["reset_password"], token: body.token, now })
        : await redeemCode(db, emailCodeKey, {
            purpose: "reset_password",
            subject: body.email,
            code: body.code,
            now,
          });
    if (!challenge?.userId) throw invalidChallenge();
    const user = await completePasswordReset(c, challenge, passwordHash);
    const { body: tokens } = await startSession(c, user);
    return c.json(tokens as z.infer<typeof TokenResponseSchema>, 200, noStore);
  });
