import type { MiddlewareHandler } from "hono";
import { bearerError } from "../lib/bearer.ts";
import type { TesseraEnv } from "./tessera-auth.ts";

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), so it can sit in a
// quoted-string without escaping.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * Hono middleware, mounted after {@link tesseraAuth}, requiring every listed scope in the
 * token's `scope` claim (RFC 9068 §2.2.3, space-separated). Missing one: 403
 * `insufficient_scope` with `WWW-Authenticate: Bearer error="insufficient_scope",
 * scope="<the required scopes>"` (RFC 6750 §3.1).
 *
 * @param scopes - the scopes required, all of them.
 * @throws TypeError at creation for an empty list or a string that is not a scope token.
 * @example
 * ```ts
 * app.post("/api/orders", requireScope("orders:write"), (c) => c.text("created"));
 * ```
 */
export function requireScope(...scopes: string[]): MiddlewareHandler<TesseraEnv> {
  if (scopes.length === 0 || !scopes.every((scope) => SCOPE_TOKEN.test(scope))) {
    throw new TypeError("requireScope: give one or more scope tokens (RFC 6749 §3.3)");
  }
  const required = scopes.join(" ");
  return async (c, next) => {
    const claims = c.get("tessera");
    // A route without tesseraAuth in front is a wiring mistake: fail closed and loudly.
    if (!claims) throw new Error("requireScope must run after tesseraAuth");
    const granted = new Set(typeof claims.scope === "string" ? claims.scope.split(" ") : []);
    if (!scopes.every((scope) => granted.has(scope))) {
      return bearerError(
        403,
        {
          error: "insufficient_scope",
          error_description: `The access token lacks the scope "${required}"`,
        },
        `Bearer error="insufficient_scope", scope="${required}"`,
      );
    }
    await next();
  };
}
