import { errors, type JWTPayload, jwtVerify, SignJWT } from "jose";
import { type Config, SIGNING_ALGS } from "../config.ts";
import { invalidBearerToken } from "../errors.ts";
import type { KeyStore } from "../keys/key-store.ts";
import { randomId } from "../lib/random-id.ts";

/** RFC 9068 §2.1: the media type of JWT access tokens. */
export const ACCESS_TOKEN_TYP = "at+jwt";

/** The built-in public client behind `/v1/signup` and `/v1/login`. */
export const FIRST_PARTY_CLIENT_ID = "first-party";

/** Claims of a Tessera access token (RFC 9068 §2.2). */
export type AccessTokenClaims = JWTPayload & {
  iss: string;
  aud: string;
  sub: string;
  /** Session id; absent on client-credentials tokens. */
  sid?: string;
  client_id: string;
  iat: number;
  exp: number;
  jti: string;
  scope?: string;
};

/** What the issuer needs to know to mint and check access tokens. */
export type AccessTokenSettings = {
  issuer: string;
  audience: string;
  ttlSeconds: number;
};

/** The settings a {@link Config} describes; a client's own TTL overrides the default. */
export function accessTokenSettings(
  config: Config,
  client?: { accessTokenTtl: number | null },
): AccessTokenSettings {
  return {
    issuer: config.issuer,
    audience: config.accessTokenAudience,
    ttlSeconds: client?.accessTokenTtl ?? config.accessTokenTtl,
  };
}

/** Signs an RFC 9068 access token with the current key. */
export async function signAccessToken(
  keys: KeyStore,
  settings: AccessTokenSettings,
  subject: { sub: string; sid?: string; clientId: string; scope?: string },
  nowMs: number,
): Promise<{ token: string; expiresIn: number }> {
  const { kid, alg, privateKey } = await keys.signingKey();
  const iat = Math.floor(nowMs / 1000);
  const payload: JWTPayload = { client_id: subject.clientId };
  // Client-credentials tokens have no session, so no `sid`.
  if (subject.sid) payload.sid = subject.sid;
  if (subject.scope) payload.scope = subject.scope;
  const token = await new SignJWT(payload)
    .setProtectedHeader({ alg, kid, typ: ACCESS_TOKEN_TYP })
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setSubject(subject.sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + settings.ttlSeconds)
    .setJti(randomId())
    .sign(privateKey);
  return { token, expiresIn: settings.ttlSeconds };
}

/** Tessera's own endpoints allow at most 5 s of clock skew (DESIGN.md, Configuration). */
export const OWN_CLOCK_TOLERANCE_S = 5;

// Headers that point at keys elsewhere: a verifier that trusted them would let the token
// choose its own key (RFC 8725 §3.10). Tessera never sets them, so their presence is refusal.
const KEY_REFERENCE_HEADERS = ["jku", "x5u", "jwk", "x5c"] as const;

/**
 * Verifies a bearer access token for Tessera's own endpoints: published key by `kid`, the
 * explicit algorithm allow-list (never `none` or HS*), `typ: at+jwt` (RFC 9068 §4),
 * issuer, audience (unless `audience: false`, as introspection does: the resource server
 * checks `aud` itself), and the required claims (`sid` only for user tokens). Any failure
 * is 401 `invalid_token`.
 */
export async function verifyAccessToken(
  keys: KeyStore,
  settings: AccessTokenSettings,
  token: string,
  nowMs: number,
  options: { audience?: boolean; requireSession?: boolean } = {},
): Promise<AccessTokenClaims> {
  const { audience = true, requireSession = true } = options;
  try {
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        if (KEY_REFERENCE_HEADERS.some((name) => name in header)) {
          throw new errors.JWSInvalid("Key-reference headers are not accepted");
        }
        // RFC 7515 §4.1.11: Tessera issues no `crit` extension. jose alone would accept one it
        // understands (RFC 7797 `b64`); refuse any, as tessera/verify does, so both verifiers
        // apply one header policy (RFC 8725 §3.10: received headers do not steer checking).
        if ("crit" in header) throw new errors.JWSInvalid("crit is not accepted");
        const found = header.kid ? await keys.verificationKey(header.kid) : undefined;
        if (!found || found.alg !== header.alg) throw new errors.JWKSNoMatchingKey();
        return found.key;
      },
      {
        issuer: settings.issuer,
        audience: audience ? settings.audience : undefined,
        algorithms: [...SIGNING_ALGS],
        typ: ACCESS_TOKEN_TYP,
        clockTolerance: OWN_CLOCK_TOLERANCE_S,
        currentDate: new Date(nowMs),
        requiredClaims: ["iss", "aud", "sub", "exp", "iat", "jti", "client_id"],
      },
    );
    // RFC 9068 §2.2 with RFC 7519 §4.1.2, §4.1.7: `sub`, `jti` (and `client_id`) are strings,
    // as tessera/verify checks. jose checks only their presence; an array `sub` reached the
    // user lookup as a query parameter and answered 500.
    for (const claim of ["sub", "jti", "client_id"] as const) {
      if (typeof payload[claim] !== "string") throw invalidBearerToken();
    }
    if (requireSession && typeof payload.sid !== "string") throw invalidBearerToken();
    return payload as AccessTokenClaims;
  } catch (error) {
    if (error instanceof errors.JOSEError || error instanceof TypeError) throw invalidBearerToken();
    throw error;
  }
}
