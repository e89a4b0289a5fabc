import { Scalar } from "@scalar/hono-api-reference";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "./app-env.ts";
import type { AppDeps } from "./deps.ts";
import { ApiError, type ErrorCode } from "./errors.ts";
import { createRouter } from "./lib/router.ts";
import { loggableError } from "./lib/safe-error.ts";
import { corsFromAllowlist } from "./middleware/cors/index.ts";
import { requestLog } from "./middleware/request-log/index.ts";
import { authRoutes } from "./routes/auth.ts";
import { eventRoutes } from "./routes/events.ts";
import { meRoutes } from "./routes/me.ts";
import { oauthRoutes } from "./routes/oauth.ts";
import { passwordRoutes } from "./routes/password.ts";
import { sessionRoutes } from "./routes/sessions.ts";
import { tokenRoutes } from "./routes/token.ts";
import { wellKnownRoutes } from "./routes/well-known.ts";
import { OWN_CLOCK_TOLERANCE_S } from "./tokens/access-token.ts";
import { createVerifiedTokenCache } from "./tokens/verified-token-cache.ts";

/** Largest request body accepted (DESIGN.md: 64 KB). */
export const MAX_BODY_BYTES = 64 * 1024;

const STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  400: "invalid_request",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "too_many_requests",
  503: "temporarily_unavailable",
};

/** Renders any error as the documented JSON shape; 500s are logged, never described. */
function renderError(error: unknown, c: Context<AppEnv>): Response {
  let apiError: ApiError;
  if (error instanceof ApiError) {
    apiError = error;
  } else if (error instanceof HTTPException && STATUS_CODES[error.status]) {
    // Hono's own validators: malformed JSON (400), unsupported media type (415).
    const code = STATUS_CODES[error.status] as ErrorCode;
    const accepted = c.req.path.startsWith("/oauth/")
      ? "application/x-www-form-urlencoded or application/json"
      : "application/json";
    const description =
      code === "unsupported_media_type"
        ? `Unsupported Content-Type; send ${accepted}`
        : error.message || code;
    apiError = new ApiError(code, description);
  } else {
    c.var.deps.logger.error("unhandled_error", {
      request_id: c.var.requestId,
      route: c.req.routePath,
      ...loggableError(error),
    });
    apiError = new ApiError("server_error", "Internal server error");
  }
  return c.json(apiError.toJSON(), apiError.status, {
    "Cache-Control": "no-store",
    ...apiError.options.headers,
  });
}

/**
 * Builds the Tessera HTTP app over injected dependencies. The only place routes are
 * mounted; both runtime entries call it.
 */
export function createApp(deps: AppDeps) {
  const app = createRouter();
  const https = deps.config.issuer.startsWith("https://");

  app.use(requestId());
  const verifiedTokens = createVerifiedTokenCache({ skewSeconds: OWN_CLOCK_TOLERANCE_S });
  app.use(async (c, next) => {
    c.set("deps", deps);
    c.set("verifiedTokens", verifiedTokens);
    await next();
  });
  app.use(requestLog);
  app.use(
    secureHeaders({
      xContentTypeOptions: "nosniff",
      referrerPolicy: "no-referrer",
      contentSecurityPolicy: { frameAncestors: ["'none'"] },
      strictTransportSecurity: https ? "max-age=63072000; includeSubDomains" : false,
      crossOriginResourcePolicy: false,
      crossOriginOpenerPolicy: false,
      crossOriginEmbedderPolicy: false,
      originAgentCluster: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xFrameOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
    }),
  );
  if (deps.config.corsOrigins.length > 0) app.use(corsFromAllowlist(deps.config.corsOrigins));
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        c.json(
          { error: "method_not_allowed", error_description: `Allowed: ${methods.join(", ")}` },
          405,
          { Allow: methods.join(", "), "Cache-Control": "no-store" },
        ),
    }),
  );
  // Registered with use() (405's router must not see per-method wildcard routes) and skipped
  // for GET/HEAD: touching `c.req.raw.body` makes @hono/node-server build a full Request,
  // which cost ~5% of a JWKS request in the profile.
  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) =>
      // Connection: close, or @hono/node-server leaves the unread rest of the body on the
      // socket and the client's next request there fails.
      c.json(
        {
          error: "payload_too_large",
          error_description: `Request body exceeds ${MAX_BODY_BYTES} bytes`,
        },
        413,
        { Connection: "close", "Cache-Control": "no-store" },
      ),
  });
  app.use((c, next) =>
    c.req.method === "GET" || c.req.method === "HEAD" ? next() : limitBody(c, next),
  );

  app.route("/", authRoutes);
  app.route("/", tokenRoutes);
  app.route("/", oauthRoutes);
  app.route("/", meRoutes);
  app.route("/", sessionRoutes);
  app.route("/", passwordRoutes);
  app.route("/", eventRoutes);
  app.route("/", wellKnownRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT (RFC 9068 at+jwt)",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Tessera",
      version: "1",
      description: "Auth service: JWT access tokens, rotating refresh tokens, sessions.",
    },
    servers: [{ url: deps.config.issuer }],
  });
  app.get("/docs", Scalar({ url: "/openapi.json", pageTitle: "Tessera API" }));

  app.notFound((c) =>
    c.json(
      { error: "not_found", error_description: `No route for ${c.req.method} ${c.req.path}` },
      404,
      { "Cache-Control": "no-store" },
    ),
  );
  app.onError(renderError);
  return app;
}

/** The Hono app type, e.g. for `hono/client`. */
export type TesseraApp = ReturnType<typeof createApp>;
