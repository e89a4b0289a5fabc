import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import type { AppDeps } from "./deps.ts";
import { ApiError } from "./http/api-error.ts";
import { renderError } from "./http/error-response.ts";
import { corsFromAllowlist } from "./http/middleware/cors/index.ts";
import { requestBody } from "./http/middleware/request-body/index.ts";
import { requestLog } from "./http/middleware/request-log/index.ts";
import { createRouter } from "./http/router.ts";
import { apiReferenceRoutes } from "./routes/api-reference.ts";
import { authRoutes } from "./routes/auth.ts";
import { authorizeRoutes } from "./routes/authorize.ts";
import { authorizePageRoutes } from "./routes/authorize-pages.tsx";
import { devOutboxRoutes } from "./routes/dev-outbox.ts";
import { emailChangeRoutes } from "./routes/email-change.ts";
import { eventRoutes } from "./routes/events.ts";
import { identityRoutes } from "./routes/identities.ts";
import { logoutRoutes } from "./routes/logout.ts";
import { meRoutes } from "./routes/me.ts";
import { oauthRoutes } from "./routes/oauth.ts";
import { otpRoutes } from "./routes/otp.ts";
import { pageRoutes } from "./routes/pages.tsx";
import { passwordRoutes } from "./routes/password.ts";
import { passwordResetRoutes } from "./routes/password-reset.ts";
import { sessionRoutes } from "./routes/sessions.ts";
import { tokenRoutes } from "./routes/token.ts";
import { upstreamRoutes } from "./routes/upstream.ts";
import { userinfoRoutes } from "./routes/userinfo.ts";
import { verifyEmailRoutes } from "./routes/verify-email.ts";
import { wellKnownRoutes } from "./routes/well-known.ts";
import { OWN_CLOCK_TOLERANCE_S } from "./tokens/access-token.ts";
import { createVerifiedTokenCache } from "./tokens/verified-token-cache.ts";

/** Largest request body accepted (docs/design/errors.md#body-limit: 64 KB). */
export const MAX_BODY_BYTES = 64 * 1024;

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
      // A route that sets its own policy (GET /docs) keeps it; it includes frame-ancestors 'none'.
      overwrite: false,
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
        renderError(
          new ApiError("method_not_allowed", `Allowed: ${methods.join(", ")}`, {
            headers: { Allow: methods.join(", ") },
          }),
          c,
        ),
    }),
  );
  // Registered with use() (405's router must not see per-method wildcard routes). Judges the
  // length by Content-Length and parses form bodies once (src/http/middleware/request-body).
  app.use(
    requestBody({
      maxBytes: MAX_BODY_BYTES,
      onTooLarge: (c) =>
        // Connection: close, or @hono/node-server leaves the unread rest of the body on the
        // socket and the client's next request there fails.
        renderError(
          new ApiError("payload_too_large", `Request body exceeds ${MAX_BODY_BYTES} bytes`, {
            headers: { Connection: "close" },
          }),
          c,
        ),
    }),
  );

  app.route("/", authRoutes);
  app.route("/", tokenRoutes);
  app.route("/", oauthRoutes);
  app.route("/", meRoutes);
  app.route("/", sessionRoutes);
  app.route("/", identityRoutes);
  app.route("/", passwordRoutes);
  app.route("/", passwordResetRoutes);
  app.route("/", verifyEmailRoutes);
  app.route("/", otpRoutes);
  app.route("/", emailChangeRoutes);
  app.route("/", devOutboxRoutes);
  app.route("/", authorizeRoutes);
  app.route("/", authorizePageRoutes);
  app.route("/", upstreamRoutes);
  app.route("/", userinfoRoutes);
  app.route("/", logoutRoutes);
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
  app.route("/", apiReferenceRoutes);
  app.route("/", pageRoutes);

  app.notFound((c) =>
    renderError(new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}`), c),
  );
  app.onError(renderError);
  return app;
}

/** The Hono app type, e.g. for `hono/client`. */
export type TesseraApp = ReturnType<typeof createApp>;
