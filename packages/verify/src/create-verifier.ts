import { TesseraVerifyError } from "./errors.ts";
import type { AccessTokenAlgorithm } from "./lib/algorithms.ts";
import { discoverEndpoints, isHttpUrl } from "./lib/discovery.ts";
import { createHttpClient } from "./lib/http.ts";
import { createIntrospector, DEFAULT_INTROSPECTION_CACHE_MS } from "./lib/introspection.ts";
import { createJwksCache } from "./lib/jwks-cache.ts";
import {
  allowedAlgorithms,
  audienceOption,
  clockToleranceSeconds,
  issuerOption,
  jwksUrlOption,
  timeoutOption,
} from "./lib/options.ts";
import type { Clock, FetchLike, TesseraClaims } from "./types.ts";
import { verifyAccessTokenJwt } from "./verify-access-token.ts";

/** Options of {@link createVerifier}. */
export type VerifierOptions = {
  /** The Tessera issuer URL, exactly as in the tokens' `iss`, e.g. `https://auth.example.com`. */
  issuer: string;
  /** This service's audience; a token must name it in `aud`. A list accepts any of them. */
  audience: string | readonly string[];
  /** The JWKS URL; when absent it is discovered from the issuer's metadata (RFC 8414). */
  jwksUrl?: string | URL;
  /** Accepted algorithms: a subset of `EdDSA`, `ES256`, `RS256` (all three by default). */
  algorithms?: readonly AccessTokenAlgorithm[];
  /** Allowed clock skew for `exp`, `nbf` and `iat`, in seconds. Default 30. */
  clockTolerance?: number;
  /** The `fetch` used for metadata and JWKS requests. Default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Time source (milliseconds since the epoch). Default `Date.now`. */
  clock?: Clock;
  /** Timeout of each metadata or JWKS request, in milliseconds. Default 5000. */
  timeout?: number;
  /**
   * Runs after a token passed every offline check, before `verify` resolves; throw to
   * refuse the token (the error reaches the caller unchanged). An extension point, e.g. for
   * revocation checks; not called for refused tokens.
   */
  afterVerify?: (claims: TesseraClaims, token: string) => void | Promise<void>;
  /**
   * Also ask the issuer (RFC 7662 introspection) whether the token is still active, for
   * services that must see a logout or revocation at once rather than at `exp`. Needs
   * `clientId` and `clientSecret` of a confidential client registered at the issuer.
   */
  introspect?: boolean;
  /** Client id for introspection (`npm run clients -- create …` at the issuer). */
  clientId?: string;
  /** Client secret for introspection. */
  clientSecret?: string;
  /** The introspection endpoint; discovered from the issuer's metadata when absent. */
  introspectionUrl?: string | URL;
  /** How long an `active` answer is reused, in milliseconds. Default 10 000; 0 asks every time. */
  introspectionCacheMs?: number;
};

/** A configured verifier. Create one per issuer and reuse it: it holds the JWKS cache. */
export type Verifier = {
  /**
   * Verifies a Tessera access token offline and returns its claims.
   * @throws {@link TesseraVerifyError} with a stable `code` when the token is refused or the
   *   key set cannot be obtained.
   */
  verify(token: string): Promise<TesseraClaims>;
};

/**
 * Creates a verifier for Tessera access tokens (RFC 9068 JWTs). It checks the signature
 * against the issuer's published keys, `alg` against an allow-list (never `none` or HS*),
 * `typ: at+jwt`, `iss`, `aud`, `exp`, `nbf`, `iat` and the presence and types of `sub`,
 * `jti` and `client_id`; it refuses `jku`, `jwk`, `x5u`, `x5c` and `crit` headers. The JWKS
 * is fetched lazily, cached as its `Cache-Control` says (30 s to 24 h, 300 s by default),
 * revalidated with `If-None-Match`, and refetched on an unknown `kid` at most once per 30 s.
 * Uses only web-standard APIs and jose: runs on Node ≥ 20, Workers, Deno and Bun.
 *
 * @example
 * ```ts
 * const verifier = createVerifier({
 *   issuer: "https://auth.example.com",
 *   audience: "https://api.example.com",
 * });
 * const claims = await verifier.verify(token); // throws TesseraVerifyError
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const issuer = issuerOption(options.issuer);
  const audience = audienceOption(options.audience);
  const algorithms = allowedAlgorithms(options.algorithms);
  const clockTolerance = clockToleranceSeconds(options.clockTolerance);
  const configuredJwksUrl = jwksUrlOption(options.jwksUrl);
  const clock = options.clock ?? { now: () => Date.now() };
  // Call fetch as a plain function: Workers refuse a `fetch` detached from its receiver.
  const fetchFn: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const http = createHttpClient(fetchFn, timeoutOption(options.timeout));
  const { afterVerify } = options;

  let discovered: ReturnType<typeof discoverEndpoints> | undefined;
  // Discover once; a failed discovery is retried by the next call.
  const discover = () => {
    discovered ??= discoverEndpoints(issuer, http).catch((error: unknown) => {
      discovered = undefined;
      throw error;
    });
    return discovered;
  };
  const jwksUrl = async () => configuredJwksUrl ?? (await discover()).jwksUri;
  const jwks = createJwksCache({ jwksUrl, http, now: () => clock.now() });
  const introspector = options.introspect
    ? introspectorFor(options, discover, http, clock)
    : undefined;

  return {
    async verify(token) {
      const claims = await verifyAccessTokenJwt(token, (header, jws) => jwks.getKey(header, jws), {
        issuer,
        audience,
        algorithms,
        clockTolerance,
        now: clock.now(),
      });
      if (introspector) await introspector.check(claims, token);
      if (afterVerify) await afterVerify(claims, token);
      return claims;
    },
  };
}

/** Validates the introspection options and builds the introspection step. */
function introspectorFor(
  options: VerifierOptions,
  discover: () => ReturnType<typeof discoverEndpoints>,
  http: ReturnType<typeof createHttpClient>,
  clock: Clock,
) {
  const { clientId, clientSecret } = options;
  if (typeof clientId !== "string" || clientId === "" || typeof clientSecret !== "string") {
    throw new TypeError("tessera/verify: `introspect: true` needs `clientId` and `clientSecret`");
  }
  const cacheMs = options.introspectionCacheMs ?? DEFAULT_INTROSPECTION_CACHE_MS;
  if (!Number.isFinite(cacheMs) || cacheMs < 0) {
    throw new TypeError("tessera/verify: `introspectionCacheMs` must be a number ≥ 0");
  }
  const configured =
    options.introspectionUrl === undefined ? undefined : String(options.introspectionUrl);
  if (configured !== undefined && !isHttpUrl(configured)) {
    throw new TypeError("tessera/verify: `introspectionUrl` must be an http(s) URL");
  }
  return createIntrospector({
    clientId,
    clientSecret,
    http,
    cacheMs,
    now: () => clock.now(),
    endpoint: async () => {
      if (configured) return configured;
      const found = (await discover()).introspectionEndpoint;
      if (!found) {
        throw new TesseraVerifyError(
          "introspection_unavailable",
          "The issuer metadata has no introspection_endpoint",
        );
      }
      return found;
    },
  });
}
