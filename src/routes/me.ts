import { createRoute, z } from "@hono/zod-openapi";
import { InvalidAccessToken } from "../errors.ts";
import { rateLimit } from "../http/middleware/rate-limit/index.ts";
import { requireAccessToken } from "../http/middleware/require-access-token/index.ts";
import { reauthenticate } from "../http/reauthenticate.ts";
import { requestOrigin } from "../http/record-event.ts";
import { clearRefreshCookie } from "../http/refresh-cookie.ts";
import { createRouter } from "../http/router.ts";
import { bearerErrors, commonErrors, errorResponse, UserSchema } from "../http/schemas.ts";
import { sendEmail } from "../http/send-email.ts";
import { deleteAccount } from "../users/delete-account.ts";
import { findUserById, userView } from "../users/users.ts";

const meRoute = createRoute({
  method: "get",
  path: "/v1/me",
  tags: ["Account"],
  summary: "The signed-in user",
  security: [{ bearer: [] }],
  middleware: [requireAccessToken] as const,
  responses: {
    200: { description: "The user", content: { "application/json": { schema: UserSchema } } },
    ...bearerErrors,
  },
});

const deleteMeRoute = createRoute({
  method: "delete",
  path: "/v1/me",
  tags: ["Account"],
  summary: "Delete the account, its sessions and everything linked to it",
  description:
    "Re-authentication: `{password}`; an account without a password needs a sign-in within " +
    "the last 5 minutes instead (body optional). Every refresh token fails at once and " +
    "introspection answers inactive; access tokens already issued fail at `/v1/me` at once " +
    "and elsewhere at their `exp`.",
  security: [{ bearer: [] }],
  middleware: [requireAccessToken, rateLimit("auth")] as const,
  request: {
    body: {
      required: false,
      content: {
        "application/json": { schema: z.object({ password: z.string().min(1).optional() }) },
      },
    },
  },
  responses: {
    204: { description: "Deleted" },
    403: errorResponse("forbidden: a passwordless account signed in more than 5 minutes ago"),
    429: errorResponse("too_many_requests: sign-in delay after wrong passwords"),
    ...bearerErrors,
    ...commonErrors,
  },
});

/** `GET /v1/me` and `DELETE /v1/me`. */
export const meRoutes = createRouter()
  .openapi(meRoute, async (c) => {
    const user = await c.get("deps").userById(c.get("auth").sub);
    if (!user) throw new InvalidAccessToken("user_not_found");
    return c.json(userView(user), 200, { "Cache-Control": "no-store" });
  })
  .openapi(deleteMeRoute, async (c) => {
    const { db, clock, logger } = c.get("deps");
    // No body at all is an empty one (passwordless accounts send nothing).
    const { password } = c.req.valid("json") ?? {};
    const user = await findUserById(db, c.get("auth").sub);
    if (!user) throw new InvalidAccessToken("user_not_found");
    await reauthenticate(c, user, password);
    await deleteAccount(db, {
      userId: user.id,
      email: user.email,
      now: clock.now(),
      ...requestOrigin(c),
    });
    void sendEmail(c, "account_deleted", user.email);
    logger.info("account_deleted", { request_id: c.get("requestId"), user_id: user.id });
    clearRefreshCookie(c);
    return c.body(null, 204);
  });
