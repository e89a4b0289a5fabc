import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { authenticateClient } from "../clients/authenticate-client.ts";
import { findClient } from "../clients/client-store.ts";
import { ApiError } from "../http/api-error.ts";
import type { AppEnv } from "../http/app-env.ts";
import { authorizationError, continueAuthorization } from "../http/authorize-flow.ts";
import { renderErrorPage } from "../http/authorize-pages.tsx";
import { rateLimit } from "../http/middleware/rate-limit/index.ts";
import { isJsonBody, oauthBody, rejectRepeatedJsonParams } from "../http/oauth-request.ts";
import { createRouter } from "../http/router.ts";
import { commonErrors, errorResponse } from "../http/schemas.ts";
import { validateAuthorizationRequest } from "../oauth/authorization-request.ts";
import {
  REQUEST_URI_PREFIX,
  saveAuthorizationRequest,
  takePushedRequest,
} from "../oauth/authorization-requests.ts";

/** The authorization request parameters (RFC 6749 §4.1.1, RFC 7636, OIDC Core §3.1.2.1). */
const AuthorizeParams = z.object({
  response_type: z.string().optional(),
  client_id: z.string().optional(),
  redirect_uri: z.string().optional(),
  scope: z.string().optional(),
  state: z.string().optional(),
  nonce: z.string().optional(),
  code_challenge: z.string().optional(),
  code_challenge_method: z.string().optional(),
  prompt: z.string().optional(),
  max_age: z.string().optional(),
  login_hint: z.string().optional(),
  response_mode: z.string().optional(),
  request: z.string().optional(),
  request_uri: z.string().optional(),
});

const authorizeRoute = createRoute({
  method: "get",
  path: "/oauth/authorize",
  tags: ["OAuth 2.0"],
  summary: "Authorization endpoint (code + PKCE S256 only); hosted sign-in and consent",
  description:
    "Answers with a hosted page (sign-in, consent) or a 303 back to the client with `code`, " +
    "`state` and `iss` (RFC 9207). An unknown client or unregistered redirect URI is an HTML " +
    "error page, never a redirect. `request_uri` takes a pushed request (RFC 9126).",
  request: { query: AuthorizeParams.passthrough() },
  responses: {
    200: { description: "A hosted page (sign-in or consent)" },
    303: { description: "Back to the client: code (or error), state, iss" },
    400: { description: "Error page: unknown client or redirect URI" },
  },
});

const authorizePostRoute = createRoute({
  method: "post",
  path: "/oauth/authorize",
  tags: ["OAuth 2.0"],
  summary: "Authorization endpoint, form-encoded POST (OIDC Core §3.1.2.1)",
  request: {
    body: {
      required: false,
      content: { "application/x-www-form-urlencoded": { schema: AuthorizeParams } },
    },
  },
  responses: {
    200: { description: "A hosted page (sign-in or consent)" },
    303: { description: "Back to the client: code (or error), state, iss" },
    400: { description: "Error page: unknown client or redirect URI" },
  },
});

const ParParams = AuthorizeParams.extend({
  client_secret: z.string().optional(),
}).openapi("PushedAuthorizationRequest");

const parRoute = createRoute({
  method: "post",
  path: "/oauth/par",
  tags: ["OAuth 2.0"],
  summary: "Pushed authorization request (RFC 9126)",
  middleware: [rateLimit("token"), rejectRepeatedJsonParams],
  request: { body: oauthBody(ParParams) },
  responses: {
    201: {
      description: "`request_uri` to send to /oauth/authorize with `client_id`",
      content: {
        "application/json": {
          schema: z.object({ request_uri: z.string(), expires_in: z.number().int() }),
        },
      },
    },
    401: errorResponse("invalid_client"),
    ...commonErrors,
  },
});

/** Parameters, each at most once (RFC 6749 §3.1: no repeated parameters). */
function singleParams(search: URLSearchParams): {
  params: Record<string, string>;
  repeated: string | undefined;
} {
  const params: Record<string, string> = {};
  let repeated: string | undefined;
  for (const [name, value] of search) {
    if (name in params) repeated ??= name;
    params[name] = value;
  }
  return { params, repeated };
}

/** The authorization request, from the query (GET) or the form (POST), to its next step. */
async function authorize(
  c: Context<AppEnv>,
  params: Record<string, string>,
  repeated: string | undefined,
): Promise<Response> {
  const { db, clock } = c.get("deps");
  const now = clock.now();
  let request: Awaited<ReturnType<typeof takePushedRequest>>;
  if (params.request_uri !== undefined) {
    // RFC 9126 §4: the pushed request is the request; only client_id comes alongside.
    const id = params.request_uri.startsWith(REQUEST_URI_PREFIX)
      ? params.request_uri.slice(REQUEST_URI_PREFIX.length)
      : "";
    request = params.client_id
      ? await takePushedRequest(db, { id, clientId: params.client_id, now })
      : undefined;
    if (!request) {
      return renderErrorPage(
        c,
        400,
        "This sign-in link is not valid",
        "The pushed request is unknown, expired, already used, or for another client.",
      );
    }
  } else {
    const client = params.client_id ? await findClient(db, params.client_id) : undefined;
    const validated = validateAuthorizationRequest(client, params);
    if (!validated.ok) return authorizationError(c, validated.error);
    if (repeated) {
      return authorizationError(c, {
        kind: "redirect",
        redirectUri: validated.request.redirectUri,
        state: validated.request.state,
        error: "invalid_request",
        description: `Parameter ${repeated} is repeated`,
      });
    }
    request = validated.request;
  }
  const { id } = await saveAuthorizationRequest(db, request, { pushed: false, now });
  return continueAuthorization(c, id);
}

/** `GET` and `POST /oauth/authorize`, and `POST /oauth/par`. */
export const authorizeRoutes = createRouter()
  .openapi(authorizeRoute, async (c) => {
    // HEAD would run this handler (Hono answers HEAD with GET routes): a probe stores nothing.
    if (c.req.method === "HEAD") return c.body(null, 200, { "Cache-Control": "no-store" });
    const { params, repeated } = singleParams(new URL(c.req.url).searchParams);
    return authorize(c, params, repeated);
  })
  .openapi(authorizePostRoute, async (c) => {
    // OIDC Core §3.1.2.1: the authorization endpoint takes POST (form-encoded) as well.
    const { params, repeated } = singleParams(new URLSearchParams(await c.req.text()));
    return authorize(c, params, repeated);
  })

  .openapi(parRoute, async (c) => {
    const body = isJsonBody(c) ? c.req.valid("json") : c.req.valid("form");
    const { db, clock } = c.get("deps");
    const { client, assumed } = await authenticateClient(db, c.req.header("Authorization"), body);
    if (assumed) {
      throw new ApiError("invalid_request", "client_id is required", {
        issues: [{ path: "client_id", message: "Required" }],
      });
    }
    if (body.request_uri !== undefined) {
      throw new ApiError("invalid_request", "request_uri is not allowed in a pushed request");
    }
    const { client_secret: _secret, ...params } = body;
    const validated = validateAuthorizationRequest(client, params);
    if (!validated.ok) {
      const { error } = validated;
      // RFC 9126 §2.3: errors are answered as at the token endpoint, never redirected.
      throw new ApiError(
        error.kind === "redirect" && error.error === "invalid_scope"
          ? "invalid_scope"
          : error.kind === "redirect" && error.error === "unauthorized_client"
            ? "unauthorized_client"
            : "invalid_request",
        error.description,
      );
    }
    const saved = await saveAuthorizationRequest(db, validated.request, {
      pushed: true,
      now: clock.now(),
    });
    return c.json(
      { request_uri: `${REQUEST_URI_PREFIX}${saved.id}`, expires_in: saved.expiresIn },
      201,
      { "Cache-Control": "no-store" },
    );
  });
