import * as oauth from "oauth4webapi";
import {
  isAllowedEndpoint,
  isLoopbackHost,
  isMicrosoftMultiTenant,
  matchIssuer,
  type UpstreamProvider,
} from "./provider.ts";

/** How long a provider's discovery document is reused. */
export const DISCOVERY_CACHE_MS = 10 * 60_000;

/** Each outbound call to a provider gives up after this long. */
export const UPSTREAM_TIMEOUT_MS = 10_000;

/** Options every outbound request carries: a timeout, and plain http only to loopback hosts. */
export function requestOptions(url: string | URL) {
  const target = new URL(url);
  return {
    [oauth.allowInsecureRequests]: target.protocol === "http:" && isLoopbackHost(target.hostname),
    signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
  };
}

/** The endpoints of kinds without discovery (GitHub, Apple), as documented by each. */
function staticMetadata(provider: UpstreamProvider): oauth.AuthorizationServer | undefined {
  const { issuer } = provider;
  if (provider.kind === "github") {
    return {
      issuer,
      authorization_endpoint: `${issuer}/login/oauth/authorize`,
      token_endpoint: `${issuer}/login/oauth/access_token`,
      token_endpoint_auth_methods_supported: ["client_secret_post"],
    };
  }
  if (provider.kind === "apple") {
    return {
      issuer,
      authorization_endpoint: `${issuer}/auth/authorize`,
      token_endpoint: `${issuer}/auth/token`,
      jwks_uri: `${issuer}/auth/keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      id_token_signing_alg_values_supported: ["RS256"],
      token_endpoint_auth_methods_supported: ["client_secret_post"],
    };
  }
  return undefined;
}

/** A multi-tenant Microsoft issuer's `{tenantid}` form: `…/common/v2.0` → `…/{tenantid}/v2.0`. */
function multiTenantTemplate(provider: UpstreamProvider): string | undefined {
  if (!isMicrosoftMultiTenant(provider)) return undefined;
  const segment = `/${provider.tenant ?? "common"}/`;
  const padded = `${provider.issuer}/`;
  const at = padded.lastIndexOf(segment);
  if (at < 0) return undefined;
  const template = `${padded.slice(0, at)}/{tenantid}/${padded.slice(at + segment.length)}`;
  return template.replace(/\/$/, "");
}

/**
 * `as` for checking the ID token in a token response: oauth4webapi compares its `iss` with
 * `as.issuer`, so when the token names this provider by another accepted form (Google's
 * scheme-less issuer; a multi-tenant Microsoft provider's tenant-specific issuer with the
 * matching `tid`) that form stands in. Any other `iss` leaves `as` as it is, and is refused.
 */
export function idTokenIssuerServer(
  provider: UpstreamProvider,
  as: oauth.AuthorizationServer,
  claims: { iss?: unknown; tid?: unknown } | undefined,
): oauth.AuthorizationServer {
  if (typeof claims?.iss !== "string" || claims.iss === as.issuer) return as;
  const match = matchIssuer(provider, claims.iss);
  if (!match || (match.tenantId !== null && claims.tid !== match.tenantId)) return as;
  return { ...as, issuer: claims.iss };
}

/** Fetches and checks a provider's discovery document (OpenID Connect Discovery 1.0). */
async function discover(provider: UpstreamProvider): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(provider.issuer);
  const response = await oauth.discoveryRequest(issuer, requestOptions(issuer));
  let as: oauth.AuthorizationServer;
  const template = multiTenantTemplate(provider);
  if (template === undefined) {
    as = await oauth.processDiscoveryResponse(issuer, response);
  } else {
    // `…/common/v2.0` publishes the `…/{tenantid}/v2.0` template (or, elsewhere, itself).
    const copy = response.clone();
    as = await oauth
      .processDiscoveryResponse(new URL(template), response)
      .catch(() => oauth.processDiscoveryResponse(issuer, copy));
  }
  for (const endpoint of [as.authorization_endpoint, as.token_endpoint, as.jwks_uri]) {
    if (endpoint !== undefined && !isAllowedEndpoint(new URL(endpoint), provider.issuer)) {
      throw new Error("The discovery document names an endpoint that is not https");
    }
  }
  return as;
}

const cache = new Map<string, { as: oauth.AuthorizationServer; at: number }>();

/**
 * The provider's authorization-server metadata: discovered (cached per issuer for 10
 * minutes) or, for GitHub and Apple, their documented endpoints.
 */
export async function authorizationServer(
  provider: UpstreamProvider,
  now: number,
): Promise<oauth.AuthorizationServer> {
  const fixed = staticMetadata(provider);
  if (fixed) return fixed;
  const key = `${provider.kind} ${provider.tenant ?? ""} ${provider.issuer}`;
  const hit = cache.get(key);
  if (hit && now >= hit.at && now - hit.at < DISCOVERY_CACHE_MS) return hit.as;
  const as = await discover(provider);
  cache.set(key, { as, at: now });
  return as;
}

/** Drops cached discovery documents (tests that restart a provider on the same issuer). */
export function clearDiscoveryCache(): void {
  cache.clear();
}

/**
 * `as` for checking an authorization response's `iss` (RFC 9207): a multi-tenant Microsoft
 * provider's responses name the user's tenant, not the `{tenantid}` template.
 */
export function responseIssuerServer(
  provider: UpstreamProvider,
  as: oauth.AuthorizationServer,
  iss: string | null,
): oauth.AuthorizationServer {
  if (iss === null || !isMicrosoftMultiTenant(provider)) return as;
  const match = matchIssuer(provider, iss);
  return match?.tenantId ? { ...as, issuer: iss } : as;
}
