import { createRoute, z } from "@hono/zod-openapi";
import { authenticateClient } from "../clients/authenticate-client.ts";
import { type Client, parseScopes, TOKEN_EXCHANGE_GRANT } from "../clients/client.ts";
import { InvalidClient } from "../errors.ts";
import { ApiError } from "../http/api-error.ts";
import { exchangeAuthorizationCode } from "../http/code-grant.ts";
import { rateLimit } from "../http/middleware/rate-limit/index.ts";
import { isJsonBody, oauthBody, rejectRepeatedJsonParams } from "../http/oauth-request.ts";
import { recordEvent } from "../http/record-event.ts";
import { assertAllowedOrigin, inCookie, readRefreshCookie } from "../http/refresh-cookie.ts";
import { createRouter } from "../http/router.ts";
import { commonErrors, errorResponse, TokenResponseSchema } from "../http/schemas.ts";
import { tokenDeps } from "../http/token-deps.ts";
import { exchangeUpstreamToken } from "../http/token-exchange.ts";
import { sessionPolicy } from "../sessions/session-policy.ts";
import { accessTokenSettings, signAccessToken } from "../tokens/access-token.ts";
import { issueTokens } from "../tokens/issue-tokens.ts";
import { rotateRefreshToken } from "../tokens/rotate-refresh-token.ts";

const TokenRequestSchema = z
  .object({
    grant_type: z.string().min(1).openapi({ example: "refresh_token" }),
    refresh_token: z.string().optional(),
    code: z.string().optional(),
    redirect_uri: z.string().optional(),
    code_verifier: z.string().optional(),
    scope: z.string().optional(),
    client_id: z.string().optional(),
    client_secret: z.string().optional(),
    subject_token: z
      .string()
      .optional()
      .openapi({ description: "Token exchange: the provider's id_token" }),
    subject_token_type: z
      .string()
      .optional()
      .openapi({ example: "urn:ietf:params:oauth:token-type:id_token" }),
    nonce: z.string().optional().openapi({
      description: "Token exchange: the raw nonce the app generated for the provider's sign-in",
    }),
    requested_token_type: z.string().optional(),
    actor_token: z.string().optional().openapi({ description: "Not supported" }),
    actor_token_type: z.string().optional().openapi({ description: "Not supported" }),
    audience: z.string().optional().openapi({ description: "Not supported" }),
    resource: z.string().optional().openapi({ description: "Not supported" }),
  })
  .openapi("TokenRequest");

const tokenRoute = createRoute({
  method: "post",
  path: "/oauth/token",
  tags: ["OAuth 2.0"],
  summary: "Token endpoint (RFC 6749 §3.2)",
  description:
    "`authorization_code` exchanges a code (PKCE S256, single use, 60 s) for tokens and, with " +
    "`openid`, an ID token; `refresh_token` rotates a refresh token; `client_credentials` issues a service token to " +
    "an authenticated confidential client; `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693) " +
    "trades an upstream provider's `id_token` (`subject_token_type` " +
    "`urn:ietf:params:oauth:token-type:id_token`) and the app's raw `nonce` for a session: the token " +
    "response with `user` and `issued_token_type` (409 `account_exists` when an account with that " +
    "email exists and the link is not proven on both sides). Client authentication: " +
    "`client_secret_basic`, `client_secret_post`, or none for public clients (none at all: the " +
    "built-in first-party client).",
  middleware: [rateLimit("token"), rejectRepeatedJsonParams],
  request: { body: oauthBody(TokenRequestSchema) },
  responses: {
    200: {
      description: "The token response",
      content: { "application/json": { schema: TokenResponseSchema } },
    },
    401: errorResponse("invalid_client"),
    409: errorResponse("account_exists (token exchange)"),
    ...commonErrors,
  },
});

/** Grants this server implements (RFC 8414 `grant_types_supported`). */
export const SUPPORTED_GRANTS = [
  "authorization_code",
  "refresh_token",
  "client_credentials",
  TOKEN_EXCHANGE_GRANT,
] as const;

/**
 * RFC 6749 §3.3: requested scopes must all be allowed to the client; none requested means
 * every scope the client may have.
 */
function grantedScopes(client: Client, requested: string | undefined): string[] {
  const asked = parseScopes(requested);
  if (asked.length === 0) return [...client.scopes];
  const refused = asked.filter((s) => !client.scopes.includes(s));
  if (refused.length > 0) {
    throw new ApiError("invalid_scope", `Scope not allowed for this client: ${refused.join(" ")}`);
  }
  return asked;
}

/** `POST /oauth/token`. */
export const tokenRoutes = createRouter().openapi(tokenRoute, async (c) => {
  const params = isJsonBody(c) ? c.req.valid("json") : c.req.valid("form");
  const deps = c.get("deps");
  const { client, authenticated, assumed } = await authenticateClient(
    deps.db,
    c.req.header("Authorization"),
    params,
  );
  if (!params.grant_type) {
    throw new ApiError("invalid_request", "grant_type is required", {
      issues: [{ path: "grant_type", message: "Required" }],
    });
  }
  const grant = params.grant_type;
  if (!(SUPPORTED_GRANTS as readonly string[]).includes(grant)) {
    throw new ApiError(
      "unsupported_grant_type",
      `Unsupported grant_type; supported: ${SUPPORTED_GRANTS.join(", ")}`,
    );
  }
  // §4.4 needs client authentication: a request naming no client at all lacks it.
  if (grant === "client_credentials" && assumed) {
    throw new InvalidClient("client_credentials requires client authentication");
  }
  if (!client.grantTypes.includes(grant)) {
    throw new ApiError("unauthorized_client", `This client may not use grant_type ${grant}`);
  }
  const now = deps.clock.now();
  const noStore = { "Cache-Control": "no-store", Pragma: "no-cache" };

  if (grant === "authorization_code") {
    const body = await exchangeAuthorizationCode(c, client, params);
    return c.json(body as z.infer<typeof TokenResponseSchema>, 200, noStore);
  }

  if (grant === TOKEN_EXCHANGE_GRANT) {
    // The session carries the scopes asked for (all the client's when none): §3.3 as below.
    const scope = grantedScopes(client, params.scope).join(" ");
    const body = await exchangeUpstreamToken(c, client, params, { scope });
    return c.json(body as z.infer<typeof TokenResponseSchema>, 200, noStore);
  }

  if (grant === "client_credentials") {
    // §4.4: only confidential clients, authenticated.
    if (!authenticated) {
      throw new InvalidClient("client_credentials requires client authentication");
    }
    const scope = grantedScopes(client, params.scope).join(" ");
    const access = await signAccessToken(
      deps.keys,
      accessTokenSettings(deps.config, client),
      { sub: client.clientId, clientId: client.clientId, scope: scope || undefined },
      now,
    );
    const body: Record<string, unknown> = {
      access_token: access.token,
      token_type: "Bearer",
      expires_in: access.expiresIn,
    };
    if (scope) body.scope = scope;
    return c.json(body as z.infer<typeof TokenResponseSchema>, 200, noStore);
  }

  // SPA cookie mode: no refresh_token parameter means the HttpOnly cookie, from an allowed
  // origin only (CSRF); the rotated token goes back into the cookie.
  const fromCookie = params.refresh_token === undefined ? readRefreshCookie(c) : undefined;
  if (fromCookie) assertAllowedOrigin(c);
  const refreshToken = params.refresh_token ?? fromCookie;
  if (!refreshToken) {
    throw new ApiError("invalid_request", "refresh_token is required", {
      issues: [{ path: "refresh_token", message: "Required" }],
    });
  }
  const policy = sessionPolicy(deps.config);
  const session = await rotateRefreshToken(
    {
      db: deps.db,
      policy,
      macKey: deps.refreshMacKey,
      logger: deps.logger,
      onReuse: (reused) => recordEvent(c, { type: "refresh_token_reuse", ...reused }),
      groupCommit: deps.groupCommit,
    },
    // Bound to its client: another client's token is invalid_grant (§6, §10.4).
    { refreshToken, clientId: client.clientId, now },
  );
  const tokens = await issueTokens(tokenDeps(deps, client), policy, session, now);
  return c.json(fromCookie ? inCookie(c, tokens) : tokens, 200, noStore);
});
