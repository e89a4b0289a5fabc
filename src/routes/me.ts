import { createRoute } from "@hono/zod-openapi";
import { InvalidAccessToken } from "../errors.ts";
import { requireAccessToken } from "../http/middleware/require-access-token/index.ts";
import { createRouter } from "../http/router.ts";
import { bearerErrors, UserSchema } from "../http/schemas.ts";
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

/** `GET /v1/me`. */
export const meRoutes = createRouter().openapi(meRoute, async (c) => {
  const user = await findUserById(c.var.deps.db, c.var.auth.sub);
  if (!user) throw new InvalidAccessToken("user_not_found");
  return c.json(userView(user), 200, { "Cache-Control": "no-store" });
});
