import { createRoute, z } from "@hono/zod-openapi";
import { InvalidAccessToken } from "../errors.ts";
import { ApiError } from "../http/api-error.ts";
import { rateLimit } from "../http/middleware/rate-limit/index.ts";
import { requireAccessToken } from "../http/middleware/require-access-token/index.ts";
import { recordEvent } from "../http/record-event.ts";
import { createRouter } from "../http/router.ts";
import { bearerErrors, commonErrors, errorResponse } from "../http/schemas.ts";
import { acceptNewPassword, normalizePassword } from "../passwords/policy.ts";
import {
  claimLoginAttempt,
  clearLoginFailures,
  throttleKey,
} from "../rate-limits/login-throttle.ts";
import { changePassword } from "../users/change-password.ts";
import { findUserById } from "../users/users.ts";

const PasswordChangeSchema = z
  .object({
    current_password: z.string().min(1),
    new_password: z.string().min(1),
  })
  .openapi("PasswordChange");

const passwordRoute = createRoute({
  method: "post",
  path: "/v1/password",
  tags: ["Account"],
  summary: "Change the password; every other session of the user ends",
  security: [{ bearer: [] }],
  middleware: [rateLimit("auth"), requireAccessToken],
  request: {
    body: { required: true, content: { "application/json": { schema: PasswordChangeSchema } } },
  },
  responses: {
    204: { description: "Changed; other sessions revoked, this one kept" },
    ...bearerErrors,
    429: errorResponse("too_many_requests: rate limit or delay after wrong current passwords"),
    ...commonErrors,
  },
});

/** `POST /v1/password`. */
export const passwordRoutes = createRouter().openapi(passwordRoute, async (c) => {
  const { db, hasher, clock, config, logger } = c.get("deps");
  const { current_password, new_password } = c.req.valid("json");
  const current = normalizePassword(current_password, "current_password");
  const user = await findUserById(db, c.get("auth").sub);
  if (!user) throw new InvalidAccessToken("user_not_found");
  // Wrong current passwords count like failed sign-ins: a stolen access token must not
  // become a way to guess the password.
  // The policy first: a weak new password is not a guess at the current one.
  const newPassword = acceptNewPassword(new_password, {
    email: user.email,
    minLength: config.passwordMinLength,
  });
  const throttle = await throttleKey(user.email);
  await claimLoginAttempt(db, throttle, clock.now());
  if (!(await hasher.verify(current, user.passwordHash)).valid) {
    throw new ApiError("invalid_grant", "The current password is incorrect");
  }
  await clearLoginFailures(db, throttle);
  const now = clock.now();
  const { sessionsRevoked } = await changePassword(db, {
    userId: user.id,
    passwordHash: await hasher.hash(newPassword),
    exceptSessionId: c.get("auth").sid,
    now,
  });
  await recordEvent(c, { type: "password_changed", userId: user.id, sessionId: c.get("auth").sid });
  logger.info("password_changed", {
    request_id: c.get("requestId"),
    user_id: user.id,
    sessions_revoked: sessionsRevoked,
  });
  return c.body(null, 204);
});
