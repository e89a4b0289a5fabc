import { createRoute, z } from "@hono/zod-openapi";
import { authenticateClient } from "../clients/authenticate-client.ts";
import { findClient } from "../clients/client-store.ts";
import { InvalidClient } from "../errors.ts";
import { ApiError } from "../http/api-error.ts";
import { rateLimit } from "../http/middleware/rate-limit/index.ts";
import { isJsonBody, oauthBody, rejectRepeatedJsonParams } from "../http/oauth-request.ts";
import { recordEvent } from "../http/record-event.ts";
import { createRouter } from "../http/router.ts";
import { commonErrors, errorResponse } from "../http/schemas.ts";
import { tokenDeps } from "../http/token-deps.ts";
import { sessionPolicy } from "../sessions/session-policy.ts";
import { introspectToken } from "../tokens/introspect-token.ts";
import { revokeToken } from "../tokens/revoke-token.ts";

const TokenParamsSchema = z
  .object({
    token: z.string().optional(),
    token_type_hint: z.string().optional(),
    client_id: z.string().optional(),
    client_secret: z.string().optional(),
  })
  .openapi("TokenParams");

const revokeRoute = createRoute({
  method: "post",
  path: "/oauth/revoke",
  tags: ["OAuth 2.0"],
  summary: "Token revocation (RFC 7009)",
  description:
    "A refresh token or an access token ends its session. Unknown, expired, foreign or " +
    "already revoked tokens still answer 200 (RFC 7009 §2.2).",
  middleware: [rateLimit("token"), rejectRepeatedJsonParams],
  request: { body: oauthBody(TokenParamsSchema) },
  responses: {
    200: { description: "Revoked, or nothing to revoke" },
    401: errorResponse("invalid_client"),
    ...commonErrors,
  },
});

const IntrospectionSchema = z
  .object({
    active: z.boolean(),
    token_type: z.string().optional(),
    client_id: z.string().optional(),
    sub: z.string().optional(),
    exp: z.number().optional(),
    iat: z.number().optional(),
    iss: z.string().optional(),
    aud: z.union([z.string(), z.array(z.string())]).optional(),
    jti: z.string().optional(),
    sid: z.string().optional(),
    scope: z.string().optional(),
  })
  .openapi("Introspection");

const introspectRoute = createRoute({
  method: "post",
  path: "/oauth/introspect",
  tags: ["OAuth 2.0"],
  summary: "Token introspection (RFC 7662), for authenticated confidential clients",
  middleware: [rateLimit("token"), rejectRepeatedJsonParams],
  request: { body: oauthBody(TokenParamsSchema) },
  responses: {
    200: {
      description: "`active` and, when active, the token's claims",
      content: { "application/json": { schema: IntrospectionSchema } },
    },
    401: errorResponse("invalid_client"),
    ...commonErrors,
  },
});

const requireToken = (token: string | undefined): string => {
  if (!token) {
    throw new ApiError("invalid_request", "token is required", {
      issues: [{ path: "token", message: "Required" }],
    });
  }
  return token;
};

/** `POST /oauth/revoke` and `POST /oauth/introspect`. */
export const oauthRoutes = createRouter()
  .openapi(revokeRoute, async (c) => {
    const params = isJsonBody(c) ? c.req.valid("json") : c.req.valid("form");
    const deps = c.get("deps");
    // §2.1: confidential clients authenticate; public clients (first-party included) identify.
    const { client } = await authenticateClient(deps.db, c.req.header("Authorization"), params);
    const token = requireToken(params.token);
    const revoked = await revokeToken(
      { db: deps.db, ...tokenDeps(deps) },
      { token, clientId: client.clientId, now: deps.clock.now() },
    );
    if (revoked) {
      await recordEvent(c, { type: "session_revoked", ...revoked });
      deps.logger.info("token_revoked", {
        request_id: c.get("requestId"),
        client_id: client.clientId,
        session_id: revoked.sessionId,
      });
    }
    return c.body(null, 200, { "Cache-Control": "no-store" });
  })
  .openapi(introspectRoute, async (c) => {
    const params = isJsonBody(c) ? c.req.valid("json") : c.req.valid("form");
    const deps = c.get("deps");
    const { client, authenticated } = await authenticateClient(
      deps.db,
      c.req.header("Authorization"),
      params,
    );
    // §2.1: the endpoint MUST require authorization; public clients cannot have it.
    if (!authenticated || !client.confidential) {
      throw new InvalidClient("Introspection requires a confidential client's credentials");
    }
    const token = requireToken(params.token);
    const introspection = await introspectToken(
      {
        db: deps.db,
        ...tokenDeps(deps),
        policy: sessionPolicy(deps.config),
        clientExists: async (clientId) => (await findClient(deps.db, clientId)) !== undefined,
      },
      token,
      deps.clock.now(),
    );
    return c.json(introspection, 200, { "Cache-Control": "no-store" });
  });
