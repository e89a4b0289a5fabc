import { createRoute, z } from "@hono/zod-openapi";
import { redeemCode } from "../challenges/redeem-challenge.ts";
import { invalidChallenge, unlinkUnprovenIdentitiesOf } from "../http/account-actions.ts";
import { limitEmailSends } from "../http/email-limits.ts";
import { rateLimit } from "../http/middleware/rate-limit/index.ts";
import { recordEvent } from "../http/record-event.ts";
import { createRouter } from "../http/router.ts";
import {
  AcceptedSchema,
  CodeSchema,
  commonErrors,
  EmailSchema,
  errorResponse,
  TokenResponseSchema,
} from "../http/schemas.ts";
import { sendChallenge } from "../http/send-challenge.ts";
import { startSession } from "../http/start-session.ts";
import { changePassword } from "../users/change-password.ts";
import {
  findUserByEmail,
  findUserById,
  hasPassword,
  insertUser,
  markEmailVerified,
  NO_PASSWORD,
  type User,
} from "../users/users.ts";

const sendRoute = createRoute({
  method: "post",
  path: "/v1/otp/send",
  tags: ["Accounts and email"],
  summary: "Email a passwordless sign-in code",
  description:
    "Always 202. With `create_user: true` an address without an account gets a code too, and " +
    "using it creates the account (without a password). Otherwise only existing accounts get " +
    "mail; the answer is the same.",
  middleware: [rateLimit("auth")],
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({ email: EmailSchema, create_user: z.boolean().optional() }),
        },
      },
    },
  },
  responses: {
    202: { description: "Accepted", content: { "application/json": { schema: AcceptedSchema } } },
    429: errorResponse("too_many_requests: send limit per address or per IP"),
    ...commonErrors,
  },
});

const verifyRoute = createRoute({
  method: "post",
  path: "/v1/otp/verify",
  tags: ["Accounts and email"],
  summary: "Sign in with the emailed code (the address becomes verified)",
  middleware: [rateLimit("auth")],
  request: {
    body: {
      required: true,
      content: {
        "application/json": { schema: z.object({ email: EmailSchema, code: CodeSchema }) },
      },
    },
  },
  responses: {
    200: {
      description: "The token response and the user",
      content: { "application/json": { schema: TokenResponseSchema } },
    },
    ...commonErrors,
  },
});

const noStore = { "Cache-Control": "no-store" };

/** `POST /v1/otp/send` and `POST /v1/otp/verify`. */
export const otpRoutes = createRouter()
  .openapi(sendRoute, async (c) => {
    const { db } = c.get("deps");
    const { email, create_user = false } = c.req.valid("json");
    await limitEmailSends(c, email);
    const user = await findUserByEmail(db, email);
    await sendChallenge(c, {
      purpose: "otp",
      email,
      userId: user?.id ?? null,
      createUser: !user && create_user,
      deliver: user !== undefined || create_user,
    });
    return c.json({}, 202, noStore);
  })
  .openapi(verifyRoute, async (c) => {
    const { db, clock, emailCodeKey } = c.get("deps");
    const { email, code } = c.req.valid("json");
    const now = clock.now();
    const challenge = await redeemCode(db, emailCodeKey, {
      purpose: "otp",
      subject: email,
      code,
      now,
    });
    if (!challenge) throw invalidChallenge();
    let user: User | undefined;
    let created = false;
    if (challenge.userId) {
      user = await findUserById(db, challenge.userId);
    } else if (challenge.createUser) {
      user = await insertUser(db, { email, passwordHash: NO_PASSWORD, now, emailVerified: true });
      created = user !== undefined;
      // An account made meanwhile (a signup racing this code) is the one the code proves.
      user ??= await findUserByEmail(db, email);
    }
    if (!user || user.email !== email) throw invalidChallenge();
    // The inbox is proven now; a password set and identities linked before never proved it:
    // whoever used them may not own the address (account pre-hijacking). They stop being ways
    // in, and the sessions they opened end.
    const unlinked = await unlinkUnprovenIdentitiesOf(c, user);
    if (user.emailVerifiedAt === null && (hasPassword(user) || unlinked > 0)) {
      await changePassword(db, { userId: user.id, passwordHash: NO_PASSWORD, now });
    }
    user = (await markEmailVerified(db, { userId: user.id, email, now })) ?? user;
    const { sessionId, body } = await startSession(c, user);
    if (created) await recordEvent(c, { type: "signup", userId: user.id, sessionId });
    await recordEvent(c, { type: "otp_sign_in", userId: user.id, sessionId });
    return c.json(body as z.infer<typeof TokenResponseSchema>, 200, noStore);
  });
