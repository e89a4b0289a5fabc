import { ApiError } from "../http/api-error.ts";
import { createRouter } from "../http/router.ts";

/**
 * `GET /docs`: the Scalar API reference over `/openapi.json`, self-hosted under a strict CSP.
 * Scalar's standalone bundle (copied out of `@scalar/api-reference` by
 * `scripts/build-static.mjs`) is served from `/docs/assets/` and reads its configuration from
 * data attributes: the page has no inline script and reaches no other origin.
 * See docs/decisions.md ("API reference page").
 */
export const apiReferenceRoutes = createRouter();

/** Scalar options, as the standalone bundle reads them from `data-configuration`. */
const SCALAR_CONFIGURATION = {
  // Each of these would otherwise reach another origin: fonts.scalar.com, the "Ask AI"
  // agent's registry through proxy.scalar.com, and Scalar's telemetry.
  withDefaultFonts: false,
  agent: { disabled: true },
  telemetry: false,
  // The "Developer Tools" bar (shown on localhost) links to Scalar's hosted services.
  showDeveloperTools: "never",
};

/**
 * The page's policy. Only this origin's scripts run (no inline script, no eval); the <style>
 * elements those scripts create carry the per-response nonce (static/docs/assets/style-nonce.js).
 */
export function apiReferenceCsp(nonce: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}' 'report-sample'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join("; ");
}

const escapeAttribute = (value: string) =>
  value.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;");

const CONFIGURATION_ATTRIBUTE = escapeAttribute(JSON.stringify(SCALAR_CONFIGURATION));

const page = (nonce: string) => `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Tessera API</title>
    <link rel="icon" href="data:," />
  </head>
  <body>
    <script src="/docs/assets/style-nonce.js" nonce="${nonce}"></script>
    <script id="api-reference" type="application/json" data-url="/openapi.json" data-configuration="${CONFIGURATION_ATTRIBUTE}"></script>
    <script src="/docs/assets/api-reference.js"></script>
  </body>
</html>
`;

/** 128 random bits, base64: a fresh CSP nonce for each response. */
function newNonce(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
}

apiReferenceRoutes.get("/docs", (c) => {
  const nonce = newNonce();
  return c.html(page(nonce), 200, {
    "Content-Security-Policy": apiReferenceCsp(nonce),
    // The nonce is per response: never serve a stored copy.
    "Cache-Control": "no-store",
  });
});

/** The page's files, from `deps.assets` (dist/static on Node, the ASSETS binding on Workers). */
apiReferenceRoutes.get("/docs/assets/*", async (c) => {
  const res = await c.get("deps").assets?.fetch(c.req.raw);
  if (!res || res.status === 404) {
    throw new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}`);
  }
  // A copy: a fetched response's headers are immutable, and the app adds its own.
  return new Response(res.body, res);
});
