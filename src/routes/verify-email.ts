import { createRoute, z } from "@hono/zod-openapi";
import { redeemCode, redeemLinkToken } from "../challenges/redeem-challenge.ts";
import { completeEmailChallenge, invalidChallenge } from "../http/account-actions.ts";
import { limitEmailSends } from "../http/email-limits.ts";
import { rateLimit } from "../http/middleware/rate-limit/index.ts";
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
import { sendChallenge } from "../http/send-challenge.ts";
import { startSession } from "../http/start-session.ts";
import { findUserByEmail } from "../users/users.ts";

const sendRoute = createRoute({
  method: "post",
  path: "/v1/verify-email/send",
  tags: ["Accounts and email"],
  summary: "Send (again) the email verification link and code",
  description:
    "Always 202, whether or not the address has an account or is verified already: the answer " +
    "reveals nothing. A new send replaces the previous link and code.",
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

const VerifyEmailSchema = z
  .union([
    z.object({ token: LinkTokenSchema }).strict(),
    z.object({ email: EmailSchema, code: CodeSchema }).strict(),
  ])
  .openapi("VerifyEmail", { description: "`{token}` from the link, or `{email, code}`" });

const verifyRoute = createRoute({
  method: "post",
  path: "/v1/verify-email",
  tags: ["Accounts and email"],
  summary: "Prove the address with the emailed link token or code; signs in",
  middleware: [rateLimit("auth")],
  request: {
    body: { required: true, content: { "application/json": { schema: VerifyEmailSchema } } },
  },
  responses: {
    200: {
      description: "The token response and the user (`email_verified: true`)",
      content: { "application/json": { schema: TokenResponseSchema } },
    },
    ...commonErrors,
  },
});

const noStore = { "Cache-Control": "no-store" };

/** `POST /v1/verify-email/send` and `POST /v1/verify-email`. */
export const verifyEmailRoutes = createRouter()
  .openapi(sendRoute, async (c) => {
    const { db, config } = c.get("deps");
    const { email } = c.req.valid("json");
    await limitEmailSends(c, email);
    const user = await findUserByEmail(db, email);
    const pending = user !== undefined && user.emailVerifiedAt === null;
    await sendChallenge(c, {
      purpose: "verify_email",
      email,
      userId: user?.id ?? null,
      deliver: pending && config.email.verification !== "off",
    });
    return c.json({}, 202, noStore);
  })
  .openapi(verifyRoute, async (c) => {
    const { db, clock, emailCodeKey } = c.get("deps");
    const body = c.req.valid("json");
    const now = clock.now();
    const challenge =
      "token" in body
        ? await redeemLinkToken(db, { purposes: ["verify_email"], token: body.token, now })
        : await redeemCode(db, emailCodeKey, {
            purpose: "verify_email",
            subject: body.email,
            code: body.code,
            now,
          });
    if (!challenge) throw invalidChallenge();
    const user = await completeEmailChallenge(c, challenge);
    const { body: tokens } = await startSession(c, user);
    return c.json(tokens as z.infer<typeof TokenResponseSchema>, 200, noStore);
  });
