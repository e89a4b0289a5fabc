import { createRoute } from "@hono/zod-openapi";
import { invalidBearerToken } from "../errors.ts";
import { createRouter } from "../lib/router.ts";
import { bearerErrors, UserSchema } from "../lib/schemas.ts";
import { requireAccessToken } from "../middleware/require-access-token/index.ts";
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
  if (!user) throw invalidBearerToken("The user no longer exists");
  return c.json(userView(user), 200, { "Cache-Control": "no-store" });
});
