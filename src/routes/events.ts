import { createRoute, z } from "@hono/zod-openapi";
import { InvalidAccessToken } from "../errors.ts";
import { AUTH_EVENT_TYPES, listEvents } from "../events/auth-events.ts";
import { requireAccessToken } from "../http/middleware/require-access-token/index.ts";
import { createRouter } from "../http/router.ts";
import { bearerErrors } from "../http/schemas.ts";

const EventSchema = z
  .object({
    id: z.string(),
    type: z.enum(AUTH_EVENT_TYPES),
    created_at: z.string().openapi({ format: "date-time" }),
    session_id: z.string().nullable(),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
  })
  .openapi("AuthEvent");

const eventsRoute = createRoute({
  method: "get",
  path: "/v1/events",
  tags: ["Account"],
  summary: "The caller's own security events, newest first",
  security: [{ bearer: [] }],
  middleware: [requireAccessToken],
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(50),
      type: EventSchema.shape.type.optional(),
    }),
  },
  responses: {
    200: {
      description: "Events",
      content: { "application/json": { schema: z.object({ events: z.array(EventSchema) }) } },
    },
    ...bearerErrors,
  },
});

/** `GET /v1/events`. */
export const eventRoutes = createRouter().openapi(eventsRoute, async (c) => {
  const { limit, type } = c.req.valid("query");
  const { db, userById } = c.get("deps");
  // A deleted account's unexpired token reads nothing: its last event is for operators.
  if (!(await userById(c.get("auth").sub))) {
    throw new InvalidAccessToken("user_not_found");
  }
  const events = await listEvents(db, { userId: c.get("auth").sub, limit, type });
  return c.json({ events }, 200, { "Cache-Control": "no-store" });
});
