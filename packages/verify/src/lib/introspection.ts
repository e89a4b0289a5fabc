import { TesseraVerifyError } from "../errors.ts";
import type { TesseraClaims } from "../types.ts";
import { discard, type HttpClient } from "./http.ts";

/** How long an `active: true` answer is reused by default. */
export const DEFAULT_INTROSPECTION_CACHE_MS = 10_000;
/** Cached answers kept at most; the oldest go first. */
const MAX_CACHED = 10_000;

/** Asks the issuer whether a verified token is still active (RFC 7662). */
export type Introspector = { check(claims: TesseraClaims, token: string): Promise<void> };

// RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
const formEncode = (value: string) => encodeURIComponent(value).replaceAll("%20", "+");

/**
 * Creates the introspection step of `introspect: true`: after the offline checks pass, POST
 * the token to the issuer's introspection endpoint with the service's client credentials
 * (`client_secret_basic`). Active answers are cached for `cacheMs` (never past the token's
 * `exp`), keyed by `jti`, so a busy service asks once per token per window; inactive answers
 * are never cached, so a revocation is seen on the next request after the window.
 */
export function createIntrospector(options: {
  endpoint: () => Promise<string>;
  clientId: string;
  clientSecret: string;
  http: HttpClient;
  now: () => number;
  cacheMs: number;
}): Introspector {
  const authorization = `Basic ${btoa(
    `${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`,
  )}`;
  const activeUntil = new Map<string, number>();

  return {
    async check(claims, token) {
      const now = options.now();
      const cached = activeUntil.get(claims.jti);
      if (cached !== undefined && cached > now) return;
      activeUntil.delete(claims.jti);

      const res = await options.http.postForm(
        await options.endpoint(),
        { Authorization: authorization, Accept: "application/json" },
        new URLSearchParams({ token }),
      );
      if (!res.ok) {
        await discard(res);
        throw new TesseraVerifyError(
          "introspection_unavailable",
          res.status === 401
            ? "The introspection endpoint refused this service's client credentials"
            : "The introspection endpoint did not answer",
        );
      }
      let body: unknown;
      try {
        body = await res.json();
      } catch {
        throw new TesseraVerifyError(
          "introspection_unavailable",
          "The introspection answer is not JSON",
        );
      }
      // RFC 7662 §2.2: `active` is the one required member; anything but `true` is inactive.
      if ((body as { active?: unknown } | null)?.active !== true) {
        throw new TesseraVerifyError(
          "token_inactive",
          "The issuer reports the token is no longer active",
        );
      }
      if (activeUntil.size >= MAX_CACHED) {
        const oldest = activeUntil.keys().next().value;
        if (oldest !== undefined) activeUntil.delete(oldest);
      }
      activeUntil.set(claims.jti, Math.min(now + options.cacheMs, claims.exp * 1000));
    },
  };
}
