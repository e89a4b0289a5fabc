import { createRoute, z } from "@hono/zod-openapi";
import { ApiError } from "../errors.ts";
import { createRouter } from "../lib/router.ts";
import { commonErrors, errorResponse, TokenResponseSchema } from "../lib/schemas.ts";
import { sessionPolicy } from "../sessions/session-policy.ts";
import { issueTokens } from "../tokens/issue-tokens.ts";
import { rotateRefreshToken } from "../tokens/rotate-refresh-token.ts";

// RFC 6749 §4.1.3/§6: request parameters; each appears at most once (a repeated form
// parameter arrives as an array and fails `z.string()` → invalid_request, §3.2).
const TokenRequestSchema = z
  .object({
    grant_type: z.string().min(1).openapi({ example: "refresh_token" }),
    refresh_token: z.string().optional(),
    client_id: z.string().optional(),
    scope: z.string().optional(),
  })
  .openapi("TokenRequest");

const tokenRoute = createRoute({
  method: "post",
  path: "/oauth/token",
  tags: ["OAuth 2.0"],
  summary: "Token endpoint (RFC 6749 §3.2)",
  description:
    "`grant_type=refresh_token` rotates the refresh token. Form-encoded per RFC 6749; JSON is accepted too.",
  request: {
    body: {
      required: false,
      content: {
        "application/x-www-form-urlencoded": { schema: TokenRequestSchema },
        "application/json": { schema: TokenRequestSchema },
      },
    },
  },
  responses: {
    200: {
      description: "The token response",
      content: { "application/json": { schema: TokenResponseSchema } },
    },
    401: errorResponse("invalid_client"),
    ...commonErrors,
  },
});

const SUPPORTED_GRANTS = ["refresh_token"] as const;

/** `POST /oauth/token`. */
export const tokenRoutes = createRouter().openapi(tokenRoute, async (c) => {
  const contentType = c.req.header("Content-Type") ?? "";
  const params = /^application\/([\w.-]+\+)?json\b/i.test(contentType)
    ? c.req.valid("json")
    : c.req.valid("form");
  if (!params.grant_type) {
    throw new ApiError("invalid_request", "grant_type is required", {
      issues: [{ path: "grant_type", message: "Required" }],
    });
  }
  if (params.grant_type !== "refresh_token") {
    throw new ApiError(
      "unsupported_grant_type",
      `Unsupported grant_type; supported: ${SUPPORTED_GRANTS.join(", ")}`,
    );
  }
  if (!params.refresh_token) {
    throw new ApiError("invalid_request", "refresh_token is required", {
      issues: [{ path: "refresh_token", message: "Required" }],
    });
  }
  const { deps } = c.var;
  const policy = sessionPolicy(deps.config);
  const now = deps.clock.now();
  const session = await rotateRefreshToken(
    { db: deps.db, policy, macKey: deps.refreshMacKey, logger: deps.logger },
    { refreshToken: params.refresh_token, clientId: params.client_id, now },
  );
  return c.json(await issueTokens(deps, policy, session, now), 200, {
    "Cache-Control": "no-store",
    Pragma: "no-cache",
  });
});
