import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { parseScopes } from "../clients/client.ts";
import { InvalidAccessToken } from "../errors.ts";
import { ApiError } from "../http/api-error.ts";
import type { AppEnv } from "../http/app-env.ts";
import { requireAccessToken } from "../http/middleware/require-access-token/index.ts";
import { createRouter } from "../http/router.ts";
import { bearerErrors, errorResponse } from "../http/schemas.ts";

const UserInfoSchema = z
  .object({
    sub: z.string(),
    email: z.string().optional(),
    email_verified: z.boolean().optional(),
  })
  .openapi("UserInfo");

const userinfoRoute = (method: "get" | "post") =>
  createRoute({
    method,
    path: "/oauth/userinfo",
    tags: ["OpenID Connect"],
    summary: "UserInfo (OIDC Core §5.3): claims of the token's scopes",
    security: [{ bearer: [] }],
    middleware: [requireAccessToken] as const,
    responses: {
      200: {
        description: "The user's claims",
        content: { "application/json": { schema: UserInfoSchema } },
      },
      403: errorResponse("insufficient_scope: the token was not granted `openid`"),
      ...bearerErrors,
    },
  });

/** OIDC Core §5.3.2: `sub`, and `email`/`email_verified` with the `email` scope. */
async function userinfo(c: Context<AppEnv>) {
  const scopes = parseScopes(c.get("auth").scope);
  if (!scopes.includes("openid")) {
    throw new ApiError("insufficient_scope", "The access token was not granted the openid scope", {
      headers: { "WWW-Authenticate": 'Bearer error="insufficient_scope", scope="openid"' },
    });
  }
  const user = await c.get("deps").userById(c.get("auth").sub);
  if (!user) throw new InvalidAccessToken("user_not_found");
  const body: z.infer<typeof UserInfoSchema> = { sub: user.id };
  if (scopes.includes("email")) {
    body.email = user.email;
    body.email_verified = user.emailVerifiedAt !== null;
  }
  return c.json(body, 200, { "Cache-Control": "no-store" });
}

/** `GET` and `POST /oauth/userinfo`. */
export const userinfoRoutes = createRouter()
  .openapi(userinfoRoute("get"), userinfo)
  .openapi(userinfoRoute("post"), userinfo);
