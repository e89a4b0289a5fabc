import { createRoute, z } from "@hono/zod-openapi";
import { redeemCode, redeemLinkToken } from "../challenges/redeem-challenge.ts";
import { InvalidAccessToken } from "../errors.ts";
import { completeEmailChallenge, invalidChallenge } from "../http/account-actions.ts";
import { ApiError } from "../http/api-error.ts";
import { limitEmailSends } from "../http/email-limits.ts";
import { rateLimit } from "../http/middleware/rate-limit/index.ts";
import { requireAccessToken } from "../http/middleware/require-access-token/index.ts";
import { reauthenticate } from "../http/reauthenticate.ts";
import { createRouter } from "../http/router.ts";
import {
  AcceptedSchema,
  bearerErrors,
  CodeSchema,
  commonErrors,
  EmailSchema,
  errorResponse,
  LinkTokenSchema,
  UserSchema,
} from "../http/schemas.ts";
import { sendChallenge } from "../http/send-challenge.ts";
import { sendEmail } from "../http/send-email.ts";
import { findUserByEmail, findUserById, userView } from "../users/users.ts";

const requestRoute = createRoute({
  method: "post",
  path: "/v1/email",
  tags: ["Accounts and email"],
  summary: "Move the account to a new address: a code and link go to it, a notice to the old one",
  description:
    "Needs the password (accounts without one: a sign-in within 5 minutes). Always 202 for a " +
    "valid request; the move happens when the code or link is used (`POST /v1/email/confirm`).",
  security: [{ bearer: [] }],
  middleware: [requireAccessToken, rateLimit("auth")] as const,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({ new_email: EmailSchema, password: z.string().min(1).optional() }),
        },
      },
    },
  },
  responses: {
    202: { description: "Accepted", content: { "application/json": { schema: AcceptedSchema } } },
    403: errorResponse("forbidden: a passwordless account signed in more than 5 minutes ago"),
    429: errorResponse("too_many_requests: send limit, or sign-in delay after wrong passwords"),
    ...bearerErrors,
    ...commonErrors,
  },
});

const ConfirmSchema = z
  .union([z.object({ token: LinkTokenSchema }).strict(), z.object({ code: CodeSchema }).strict()])
  .openapi("ConfirmEmail", { description: "`{token}` from the link, or `{code}`" });

const confirmRoute = createRoute({
  method: "post",
  path: "/v1/email/confirm",
  tags: ["Accounts and email"],
  summary: "Confirm the new address with its code or link token",
  security: [{ bearer: [] }],
  middleware: [requireAccessToken, rateLimit("auth")] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: ConfirmSchema } } },
  },
  responses: {
    200: {
      description: "The user, at the new address",
      content: { "application/json": { schema: UserSchema } },
    },
    409: errorResponse("user_exists: another account took the address meanwhile"),
    ...bearerErrors,
    ...commonErrors,
  },
});

const noStore = { "Cache-Control": "no-store" };

/** `POST /v1/email` and `POST /v1/email/confirm`. */
export const emailChangeRoutes = createRouter()
  .openapi(requestRoute, async (c) => {
    const { db } = c.get("deps");
    const { new_email, password } = c.req.valid("json");
    const user = await findUserById(db, c.get("auth").sub);
    if (!user) throw new InvalidAccessToken("user_not_found");
    await reauthenticate(c, user, password);
    if (new_email === user.email) {
      throw new ApiError("invalid_request", "new_email is the current address", {
        issues: [{ path: "new_email", message: "is the current address" }],
      });
    }
    await limitEmailSends(c, new_email);
    // An address another account holds gets no message, and the answer is the same.
    const taken = (await findUserByEmail(db, new_email)) !== undefined;
    await sendChallenge(c, {
      purpose: "change_email",
      subject: user.id,
      email: new_email,
      userId: user.id,
      deliver: !taken,
    });
    void sendEmail(c, "email_changed_notice", user.email);
    return c.json({}, 202, noStore);
  })
  .openapi(confirmRoute, async (c) => {
    const { db, clock, emailCodeKey } = c.get("deps");
    const body = c.req.valid("json");
    const now = clock.now();
    const challenge =
      "token" in body
        ? await redeemLinkToken(db, { purposes: ["change_email"], token: body.token, now })
        : await redeemCode(db, emailCodeKey, {
            purpose: "change_email",
            subject: c.get("auth").sub,
            code: body.code,
            now,
          });
    if (!challenge || challenge.userId !== c.get("auth").sub) throw invalidChallenge();
    const user = await completeEmailChallenge(c, challenge);
    return c.json(userView(user), 200, noStore);
  });
