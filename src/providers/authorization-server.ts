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

/**
 * oauth4webapi's internal hooks, as openid-client uses them (not in its typings):
 * `_nodiscoverycheck` skips the discovery document's issuer comparison (Microsoft's
 * multi-tenant document publishes the `{tenantid}` template), and `_expectedIssuer` lets an
 * ID token's `iss` be checked against something other than `as.issuer`.
 */
const internal = oauth as unknown as { _nodiscoverycheck: symbol; _expectedIssuer: symbol };

type IdTokenClaims = { claims: { iss?: unknown; tid?: unknown } };

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

/** Fetches and checks a provider's discovery document (OpenID Connect Discovery 1.0). */
async function discover(provider: UpstreamProvider): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(provider.issuer);
  const response = await oauth.discoveryRequest(issuer, requestOptions(issuer));
  const multiTenant = isMicrosoftMultiTenant(provider);
  const as = await oauth.processDiscoveryResponse(
    multiTenant ? (internal._nodiscoverycheck as never) : issuer,
    response,
  );
  if (multiTenant) {
    // `…/common/v2.0` publishes `…/{tenantid}/v2.0`; anything else must be the issuer itself.
    const published = as.issuer.replace("{tenantid}", provider.tenant ?? "common");
    if (published.replace(/\/+$/, "") !== provider.issuer) {
      throw new Error("The discovery document names another issuer");
    }
  }
  for (const endpoint of [as.authorization_endpoint, as.token_endpoint, as.jwks_uri]) {
    if (endpoint !== undefined && !isAllowedEndpoint(new URL(endpoint))) {
      throw new Error("The discovery document names an endpoint that is not https");
    }
  }
  return as;
}

const cache = new Map<string, { as: oauth.AuthorizationServer; at: number }>();

/**
 * The provider's authorization-server metadata: discovered (cached per issuer for 10
 * minutes) or, for GitHub and Apple, their documented endpoints. It carries the hook that
 * accepts an ID token's `iss` by the provider's rules ({@link matchIssuer}).
 */
export async function authorizationServer(
  provider: UpstreamProvider,
  now: number,
): Promise<oauth.AuthorizationServer> {
  const fixed = staticMetadata(provider);
  if (fixed) return withIssuerRules(provider, fixed);
  const key = `${provider.kind} ${provider.tenant ?? ""} ${provider.issuer}`;
  const hit = cache.get(key);
  if (hit && now >= hit.at && now - hit.at < DISCOVERY_CACHE_MS) return hit.as;
  const as = withIssuerRules(provider, await discover(provider));
  cache.set(key, { as, at: now });
  return as;
}

/** Drops cached discovery documents (tests that restart a provider on the same issuer). */
export function clearDiscoveryCache(): void {
  cache.clear();
}

function withIssuerRules(
  provider: UpstreamProvider,
  as: oauth.AuthorizationServer,
): oauth.AuthorizationServer {
  return {
    ...as,
    [internal._expectedIssuer]: ({ claims }: IdTokenClaims) => {
      if (typeof claims.iss !== "string") return as.issuer;
      const match = matchIssuer(provider, claims.iss);
      if (!match || (match.tenantId !== null && claims.tid !== match.tenantId)) return as.issuer;
      return claims.iss;
    },
  };
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
