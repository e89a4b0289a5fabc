import {
  ACCESS_TOKEN_TYP,
  type TesseraClaims,
  TesseraVerifyError,
  verifyAccessTokenJwt,
} from "@tessera/verify";
import { type JWTPayload, SignJWT } from "jose";
import { type Config, SIGNING_ALGS } from "../config.ts";
import { InvalidAccessToken } from "../errors.ts";
import type { KeyStore } from "../keys/key-store.ts";
import { randomId } from "../lib/random-id.ts";

/** Claims of a verified Tessera access token (RFC 9068 §2.2), as @tessera/verify types them. */
export type AccessTokenClaims = TesseraClaims;

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

/**
 * Tessera's own endpoints allow at most 5 s of clock skew (docs/design/tokens.md#clock-tolerance):
 * they share the issuer's clock, unlike other services, whose verifier allows 30 s.
 */
export const OWN_CLOCK_TOLERANCE_S = 5;

/**
 * Verifies an access token for Tessera's own endpoints with the acceptance rules every
 * verifier shares (`verifyAccessTokenJwt` of @tessera/verify: header policy, allow-listed
 * `alg`, `typ: at+jwt`, `iss`, `aud` unless `audience: false` — introspection leaves that to
 * the resource server — and the required claims' types), against the published key named by
 * `kid`, whose `alg` must be the token's. `requireSession` (default) also demands a `sid`:
 * user endpoints refuse client-credentials tokens.
 * @throws {@link InvalidAccessToken} for every refusal, with the verifier's code as `reason`.
 */
export async function verifyAccessToken(
  keys: Pick<KeyStore, "verificationKey">,
  settings: AccessTokenSettings,
  token: string,
  nowMs: number,
  options: { audience?: boolean; requireSession?: boolean } = {},
): Promise<AccessTokenClaims> {
  const { audience = true, requireSession = true } = options;
  let claims: TesseraClaims;
  try {
    claims = await verifyAccessTokenJwt(
      token,
      async (header) => {
        // The same refusals, with the same codes, as the SDK's JWKS lookup.
        if (typeof header.kid !== "string" || header.kid === "") {
          throw new TesseraVerifyError("malformed_token", "The token header has no kid");
        }
        const found = await keys.verificationKey(header.kid);
        if (!found) throw new TesseraVerifyError("unknown_key", "No published key matches");
        if (found.alg !== header.alg) {
          throw new TesseraVerifyError("algorithm_not_allowed", "alg is not the key's alg");
        }
        return found.key;
      },
      {
        issuer: settings.issuer,
        audience: audience ? settings.audience : null,
        algorithms: SIGNING_ALGS,
        clockTolerance: OWN_CLOCK_TOLERANCE_S,
        now: nowMs,
      },
    );
  } catch (error) {
    if (error instanceof TesseraVerifyError) throw new InvalidAccessToken(error.code);
    throw error;
  }
  if (requireSession && typeof claims.sid !== "string") throw new InvalidAccessToken("no_session");
  return claims;
}
