import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from "jose";
import { UpstreamTokenInvalid } from "../errors.ts";
import { sha256Hex } from "../lib/sha256.ts";
import { authorizationServer, UPSTREAM_TIMEOUT_MS } from "./authorization-server.ts";
import { isAllowedEndpoint, matchIssuer, type UpstreamProvider } from "./provider.ts";
import { normalizeUpstreamEmail, type UpstreamProfile } from "./upstream-profile.ts";

/** Clock tolerance for an upstream token's `exp`, `iat` and `nbf`. */
export const UPSTREAM_CLOCK_TOLERANCE_S = 60;

/** Upstream ID tokens are signed with a provider's published asymmetric keys only. */
const ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

const jwksCache = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** One remote key set per `jwks_uri`, reused across requests (jose refetches on an unknown `kid`). */
function remoteJwks(uri: string) {
  let jwks = jwksCache.get(uri);
  if (!jwks) {
    jwks = createRemoteJWKSet(new URL(uri), {
      timeoutDuration: UPSTREAM_TIMEOUT_MS,
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
    });
    jwksCache.set(uri, jwks);
  }
  return jwks;
}

/** Why jose refused a token, as a short code for the log. */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    return error.claim === "aud" ? "wrong_audience" : `claim_${error.claim}_${error.reason}`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return "bad_signature";
  if (error instanceof errors.JWKSNoMatchingKey) return "unknown_key";
  if (error instanceof errors.JWKSMultipleMatchingKeys) return "ambiguous_key";
  if (error instanceof errors.JOSEAlgNotAllowed) return "algorithm_not_allowed";
  if (error instanceof errors.JWKSTimeout) return "jwks_timeout";
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return "malformed";
  if (error instanceof errors.JOSEError) return `jose_${error.code}`;
  return "jwks_unavailable";
}

/** `email_verified` as sent: a boolean, or (Apple) the string `"true"`. */
const isTrue = (value: unknown) => value === true || value === "true";

function nameOf(payload: JWTPayload): string | null {
  if (typeof payload.name === "string" && payload.name.trim() !== "") return payload.name.trim();
  const parts = [payload.given_name, payload.family_name].filter(
    (p): p is string => typeof p === "string" && p.trim() !== "",
  );
  return parts.length > 0 ? parts.join(" ") : null;
}

/**
 * Verifies a provider's ID token (docs/design/upstream.md): signature with the provider's
 * JWKS, `iss` by the provider's rules (Google's scheme-less form; Microsoft's `{tenantid}`
 * template with `tid`), `aud` among its client ids (several audiences: `azp` among them too),
 * `exp`/`iat`/`nbf` within 60 s, and `nonce`
 * — exactly `input.nonce`, or for `raw-or-sha256` also its lowercase SHA-256 hex (Apple's iOS
 * SDK sends the hash). Shared by the browser leg and the native exchange. Returns the
 * profile, until when the token is accepted (`exp` + 60 s, in ms: how long its nonce must stay
 * spent) and its `nonce` claim as sent (what a replay would carry; the native exchange claims
 * that). Throws {@link UpstreamTokenInvalid} with the reason.
 */
export async function verifyUpstreamIdToken(
  provider: UpstreamProvider,
  idToken: string,
  input: { nonce: string; nonceForm: "exact" | "raw-or-sha256"; now: number },
): Promise<UpstreamProfile & { acceptedUntil: number; nonce: string }> {
  if (provider.kind === "github") throw new UpstreamTokenInvalid("provider_has_no_id_tokens");
  let jwksUri: string | undefined;
  try {
    jwksUri = (await authorizationServer(provider, input.now)).jwks_uri;
  } catch {
    throw new UpstreamTokenInvalid("provider_metadata_unavailable");
  }
  if (!jwksUri || !isAllowedEndpoint(new URL(jwksUri), provider.issuer)) {
    throw new UpstreamTokenInvalid("provider_has_no_jwks");
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, remoteJwks(jwksUri), {
      audience: provider.clientIds,
      algorithms: ALGORITHMS,
      clockTolerance: UPSTREAM_CLOCK_TOLERANCE_S,
      currentDate: new Date(input.now),
      requiredClaims: ["iss", "sub", "aud", "exp", "iat"],
    }));
  } catch (error) {
    throw new UpstreamTokenInvalid(reasonOf(error));
  }
  // OIDC Core §3.1.3.7 steps 4-5: a token for several audiences names the party it was issued
  // to in `azp`, and that party must be one of ours (else another client's token lists us too).
  if (Array.isArray(payload.aud) && payload.aud.length > 1) {
    if (typeof payload.azp !== "string") throw new UpstreamTokenInvalid("azp_missing");
    if (!provider.clientIds.includes(payload.azp)) throw new UpstreamTokenInvalid("wrong_azp");
  }
  const match = typeof payload.iss === "string" ? matchIssuer(provider, payload.iss) : undefined;
  if (!match) throw new UpstreamTokenInvalid("wrong_issuer");
  if (match.tenantId !== null && payload.tid !== match.tenantId) {
    throw new UpstreamTokenInvalid("wrong_tenant");
  }
  const nowS = input.now / 1000;
  if ((payload.iat as number) > nowS + UPSTREAM_CLOCK_TOLERANCE_S) {
    throw new UpstreamTokenInvalid("issued_in_future");
  }
  if (typeof payload.sub !== "string" || payload.sub === "") {
    throw new UpstreamTokenInvalid("no_subject");
  }
  if (typeof payload.nonce !== "string" || input.nonce === "") {
    throw new UpstreamTokenInvalid("nonce_missing");
  }
  const nonceOk =
    payload.nonce === input.nonce ||
    (input.nonceForm === "raw-or-sha256" && payload.nonce === (await sha256Hex(input.nonce)));
  if (!nonceOk) throw new UpstreamTokenInvalid("nonce_mismatch");
  const email = normalizeUpstreamEmail(payload.email);
  return {
    subject: payload.sub,
    email,
    emailVerified: email !== null && isTrue(payload.email_verified),
    name: nameOf(payload),
    // The last instant a replay of this token would still verify: `exp` plus the tolerance.
    acceptedUntil: ((payload.exp as number) + UPSTREAM_CLOCK_TOLERANCE_S) * 1000,
    // The token's own claim (raw or hashed): what a replay would carry again.
    nonce: payload.nonce,
  };
}
