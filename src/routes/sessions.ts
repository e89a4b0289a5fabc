import { createRoute, z } from "@hono/zod-openapi";
import { ApiError } from "../http/api-error.ts";
import { requireAccessToken } from "../http/middleware/require-access-token/index.ts";
import { recordEvent } from "../http/record-event.ts";
import { clearRefreshCookie } from "../http/refresh-cookie.ts";
import { createRouter } from "../http/router.ts";
import { bearerErrors, commonErrors, errorResponse } from "../http/schemas.ts";
import { listSessions } from "../sessions/list-sessions.ts";
import { revokeSession, revokeUserSessions } from "../sessions/revoke-sessions.ts";
import { sessionPolicy } from "../sessions/session-policy.ts";

const SessionSchema = z
  .object({
    id: z.string().openapi({ description: "The session id (the `sid` claim)" }),
    current: z.boolean().openapi({ description: "True for the caller's own session" }),
    created_at: z.string().openapi({ format: "date-time" }),
    last_used_at: z.string().openapi({ format: "date-time" }),
    expires_at: z
      .string()
      .openapi({ format: "date-time", description: "Earlier of idle expiry and absolute end" }),
    user_agent: z.string().nullable(),
    ip: z.string().nullable(),
  })
  .openapi("Session");

const bearer = {
  security: [{ bearer: [] as string[] }],
  middleware: [requireAccessToken],
};

const listRoute = createRoute({
  method: "get",
  path: "/v1/sessions",
  tags: ["Sessions"],
  summary: "The caller's live sessions",
  ...bearer,
  responses: {
    200: {
      description: "Live sessions; revoked and expired ones are not listed",
      content: {
        "application/json": { schema: z.object({ sessions: z.array(SessionSchema) }) },
      },
    },
    ...bearerErrors,
  },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/v1/sessions/{id}",
  tags: ["Sessions"],
  summary: "Revoke one of the caller's sessions",
  ...bearer,
  request: { params: z.object({ id: z.string().min(1).max(64) }) },
  responses: {
    204: { description: "Revoked; its refresh token is refused from now on" },
    ...bearerErrors,
    404: errorResponse("not_found: no live session with this id belongs to the caller"),
  },
});

const LogoutSchema = z
  .object({
    scope: z.enum(["local", "global", "others"]).default("local").openapi({
      description:
        "`local`: this session; `global`: every session of the user; `others`: all but this one",
    }),
  })
  .openapi("LogoutRequest");

const logoutRoute = createRoute({
  method: "post",
  path: "/v1/logout",
  tags: ["Sessions"],
  summary: "End this session, all sessions, or all other sessions",
  ...bearer,
  request: {
    body: { required: false, content: { "application/json": { schema: LogoutSchema } } },
  },
  responses: {
    204: { description: "Signed out" },
    ...bearerErrors,
    ...commonErrors,
  },
});

/** `GET /v1/sessions`, `DELETE /v1/sessions/:id`, `POST /v1/logout`. */
export const sessionRoutes = createRouter()
  .openapi(listRoute, async (c) => {
    const { db, config, clock } = c.get("deps");
    const sessions = await listSessions(db, sessionPolicy(config), {
      userId: c.get("auth").sub,
      currentSessionId: c.get("auth").sid,
      now: clock.now(),
    });
    return c.json({ sessions }, 200, { "Cache-Control": "no-store" });
  })
  .openapi(deleteRoute, async (c) => {
    const { db, clock } = c.get("deps");
    const revoked = await revokeSession(db, {
      sessionId: c.req.valid("param").id,
      userId: c.get("auth").sub,
      reason: "revoked_by_user",
      now: clock.now(),
    });
    // Another user's session and an unknown id look alike: nothing to learn by probing.
    if (!revoked) throw new ApiError("not_found", "Session not found");
    await recordEvent(c, {
      type: "session_revoked",
      userId: c.get("auth").sub,
      sessionId: c.req.valid("param").id,
    });
    return c.body(null, 204);
  })
  .openapi(logoutRoute, async (c) => {
    const { db, clock, logger } = c.get("deps");
    // No body at all means the default scope (an all-optional body may be empty, README "HTTP API").
    const { scope } = LogoutSchema.parse(c.req.valid("json") ?? {});
    const { sub: userId, sid } = c.get("auth");
    const now = clock.now();
    if (scope === "local") {
      await revokeSession(db, { sessionId: sid, userId, reason: "logout", now });
    } else {
      await revokeUserSessions(db, {
        userId,
        exceptSessionId: scope === "others" ? sid : undefined,
        reason: scope === "global" ? "logout_global" : "logout_others",
        now,
      });
    }
    await recordEvent(c, { type: "logout", userId, sessionId: sid });
    logger.info("logout", { request_id: c.get("requestId"), user_id: userId, scope });
    // Cookie mode: when this session ends, the browser drops its refresh cookie too.
    if (scope !== "others") clearRefreshCookie(c);
    return c.body(null, 204);
  });
