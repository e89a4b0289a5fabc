import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../http/app-env.ts";
import { createRouter } from "../http/router.ts";
import { JWKS_MAX_AGE_S } from "../keys/key-store.ts";
import { OIDC_SCOPES } from "../oauth/scopes.ts";
import { SUPPORTED_GRANTS } from "./token.ts";

const jwksRoute = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  tags: ["Discovery"],
  summary: "Public signing keys (RFC 7517): next, current and previous",
  responses: {
    200: {
      description: "JWK Set",
      content: {
        "application/json": {
          schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).openapi("JWKS"),
        },
      },
    },
    304: { description: "Not modified (ETag matched If-None-Match)" },
  },
});

const MetadataSchema = z
  .object({
    issuer: z.string(),
    authorization_endpoint: z.string(),
    token_endpoint: z.string(),
    userinfo_endpoint: z.string(),
    revocation_endpoint: z.string(),
    introspection_endpoint: z.string(),
    jwks_uri: z.string(),
    grant_types_supported: z.array(z.string()),
    response_types_supported: z.array(z.string()),
    token_endpoint_auth_methods_supported: z.array(z.string()),
    access_token_signing_alg_values_supported: z.array(z.string()),
  })
  .passthrough()
  .openapi("AuthorizationServerMetadata");

const metadataRoute = (path: string, summary: string) =>
  createRoute({
    method: "get",
    path,
    tags: ["Discovery"],
    summary,
    responses: {
      200: {
        description: "Metadata",
        content: { "application/json": { schema: MetadataSchema } },
      },
    },
  });

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["Operations"],
  summary: "Health: 200 when the database answers, else 503",
  responses: {
    200: {
      description: "Healthy",
      content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } },
    },
    503: {
      description: "The database does not answer",
      content: { "application/json": { schema: z.object({ status: z.literal("unavailable") }) } },
    },
  },
});

/**
 * RFC 8414 §2 and OIDC Discovery 1.0 §3 metadata, describing exactly what this server
 * implements and nothing it does not.
 */
async function metadata(c: Context<AppEnv>) {
  const { config } = c.get("deps");
  const issuer = config.issuer;
  const clientAuth = ["client_secret_basic", "client_secret_post", "none"];
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    userinfo_endpoint: `${issuer}/oauth/userinfo`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    pushed_authorization_request_endpoint: `${issuer}/oauth/par`,
    require_pushed_authorization_requests: false,
    end_session_endpoint: `${issuer}/oauth/logout`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    scopes_supported: [...OIDC_SCOPES],
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: [...SUPPORTED_GRANTS],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256", "EdDSA", "ES256"],
    code_challenge_methods_supported: ["S256"],
    prompt_values_supported: ["none", "login", "consent"],
    claims_supported: [
      "iss",
      "sub",
      "aud",
      "exp",
      "iat",
      "auth_time",
      "nonce",
      "sid",
      "amr",
      "email",
      "email_verified",
    ],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    authorization_response_iss_parameter_supported: true,
    token_endpoint_auth_methods_supported: clientAuth,
    pushed_authorization_request_endpoint_auth_methods_supported: clientAuth,
    revocation_endpoint_auth_methods_supported: clientAuth,
    introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
    access_token_signing_alg_values_supported: [config.signingAlg],
    service_documentation: `${issuer}/docs`,
  };
}

/** Discovery documents, the JWKS and the health check. */
export const wellKnownRoutes = createRouter()
  .openapi(jwksRoute, async (c) => {
    const { body, etag } = await c.get("deps").keys.jwks();
    const headers = {
      "Cache-Control": `public, max-age=${JWKS_MAX_AGE_S}`,
      ETag: etag,
    };
    const ifNoneMatch = c.req.header("If-None-Match");
    if (ifNoneMatch?.split(",").some((tag) => tag.trim() === etag || tag.trim() === "*")) {
      return c.body(null, 304, headers);
    }
    return c.body(body, 200, { ...headers, "Content-Type": "application/json" });
  })
  .openapi(
    metadataRoute("/.well-known/oauth-authorization-server", "RFC 8414 metadata"),
    async (c) => c.json(await metadata(c), 200, { "Cache-Control": "public, max-age=300" }),
  )
  .openapi(
    metadataRoute("/.well-known/openid-configuration", "The same metadata at the OIDC path"),
    async (c) => c.json(await metadata(c), 200, { "Cache-Control": "public, max-age=300" }),
  )
  .openapi(healthRoute, async (c) => {
    try {
      await c.get("deps").db.run(sql`select 1`);
      return c.json({ status: "ok" as const }, 200, { "Cache-Control": "no-store" });
    } catch (error) {
      c.get("deps").logger.error("health_check_failed", {
        request_id: c.get("requestId"),
        error: error instanceof Error ? error.name : "unknown",
      });
      return c.json({ status: "unavailable" as const }, 503, { "Cache-Control": "no-store" });
    }
  });
