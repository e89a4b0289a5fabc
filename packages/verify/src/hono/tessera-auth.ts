import type { MiddlewareHandler } from "hono";
import { createVerifier, type Verifier, type VerifierOptions } from "../create-verifier.ts";
import { TesseraVerifyError } from "../errors.ts";
import { bearerError, bearerToken } from "../lib/bearer.ts";
import type { TesseraClaims } from "../types.ts";

/** Context variables set by {@link tesseraAuth}: the verified claims under `tessera`. */
export type TesseraVariables = { tessera: TesseraClaims };

/** A Hono environment with {@link TesseraVariables}: `new Hono<TesseraEnv>()`. */
export type TesseraEnv = { Variables: TesseraVariables };

/**
 * Hono middleware requiring a valid Tessera access token in `Authorization: Bearer` and
 * setting its claims as `c.var.tessera`. Answers (RFC 6750 §3, §3.1):
 * - no bearer credentials: 401 `invalid_token` with a bare `WWW-Authenticate: Bearer`;
 * - a refused token: 401 `invalid_token` with `WWW-Authenticate: Bearer error="invalid_token"`
 *   and the {@link TesseraVerifyError} message as `error_description`;
 * - JWKS unreachable (`jwks_unavailable`): 503 `temporarily_unavailable` with
 *   `Retry-After`, so clients do not throw away tokens that may well be valid.
 * Other errors (e.g. from an `afterVerify` hook) go to the app's error handler.
 * Hono is needed for its types only.
 *
 * @param verifierOrOptions - a {@link Verifier}, or options to create one (once).
 * @example
 * ```ts
 * const app = new Hono<TesseraEnv>();
 * app.use("/api/*", tesseraAuth({ issuer, audience }));
 * app.get("/api/me", (c) => c.json({ user: c.var.tessera.sub }));
 * ```
 */
export function tesseraAuth(
  verifierOrOptions: Verifier | VerifierOptions,
): MiddlewareHandler<TesseraEnv> {
  const verifier =
    "verify" in verifierOrOptions && typeof verifierOrOptions.verify === "function"
      ? verifierOrOptions
      : createVerifier(verifierOrOptions as VerifierOptions);
  return async (c, next) => {
    const token = bearerToken(c.req.header("Authorization"));
    if (token === undefined) {
      return bearerError(
        401,
        { error: "invalid_token", error_description: "A Bearer access token is required" },
        "Bearer",
      );
    }
    let claims: TesseraClaims;
    try {
      if (token === "") throw new TesseraVerifyError("malformed_token", "Malformed Bearer token");
      claims = await verifier.verify(token);
    } catch (error) {
      if (!(error instanceof TesseraVerifyError)) throw error;
      if (error.code === "jwks_unavailable" || error.code === "introspection_unavailable") {
        return bearerError(503, {
          error: "temporarily_unavailable",
          error_description: "The access token cannot be checked right now",
        });
      }
      return bearerError(
        401,
        { error: "invalid_token", error_description: error.message },
        'Bearer error="invalid_token"',
      );
    }
    c.set("tessera", claims);
    await next();
  };
}
