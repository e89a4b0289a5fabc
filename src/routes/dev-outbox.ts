import { createRoute, z } from "@hono/zod-openapi";
import { ApiError } from "../http/api-error.ts";
import { createRouter } from "../http/router.ts";

const MessageSchema = z.object({
  to: z.string(),
  from: z.string(),
  subject: z.string(),
  text: z.string(),
  html: z.string(),
  kind: z.string(),
  link: z.string().optional(),
  code: z.string().optional(),
});

const outboxRoute = createRoute({
  method: "get",
  path: "/dev/outbox",
  tags: ["Development"],
  summary: "Messages sent with EMAIL_TRANSPORT=log (development only; 404 in production)",
  request: { query: z.object({ to: z.string().optional() }) },
  responses: {
    200: {
      description: "Newest first",
      content: {
        "application/json": { schema: z.object({ messages: z.array(MessageSchema) }) },
      },
    },
  },
});

/** `GET /dev/outbox`: only with the log transport outside production. */
export const devOutboxRoutes = createRouter().openapi(outboxRoute, (c) => {
  const { outbox } = c.get("deps");
  if (!outbox) throw new ApiError("not_found", `No route for GET ${c.req.path}`);
  const { to } = c.req.valid("query");
  const messages = [...outbox.messages()]
    .reverse()
    .filter((m) => to === undefined || m.to === to.trim().toLowerCase());
  return c.json({ messages }, 200, { "Cache-Control": "no-store" });
});
