import { SignJWT } from "jose";
import type { SigningAlg } from "../config.ts";
import type { KeyStore } from "../keys/key-store.ts";

/** ID tokens live as long as access tokens would by default: they are read once, at sign-in. */
export const ID_TOKEN_TTL_S = 600;

/**
 * Signs an OpenID Connect ID token (OIDC Core §2, §3.1.3.6): `iss sub aud exp iat auth_time
 * nonce sid amr`, plus `email` and `email_verified` with the `email` scope (§5.4), and `at_hash`
 * is omitted (OIDC Core §3.1.3.8 makes it optional for the code flow). `alg` is the client's
 * registered one (RS256 unless it asked otherwise).
 */
export async function signIdToken(
  keys: Pick<KeyStore, "signingKey">,
  input: {
    issuer: string;
    clientId: string;
    sub: string;
    alg: SigningAlg;
    now: number;
    authTime: number;
    nonce?: string | null;
    /** The browser session (OIDC Front/Back-Channel Logout `sid`). */
    sid?: string | null;
    /** How the user authenticated (RFC 8176): `pwd`, `otp`. */
    amr: readonly string[];
    email?: { address: string; verified: boolean };
  },
): Promise<string> {
  const { kid, alg, privateKey } = await keys.signingKey(input.alg);
  const iat = Math.floor(input.now / 1000);
  const claims: Record<string, unknown> = {
    auth_time: Math.floor(input.authTime / 1000),
    amr: [...input.amr],
  };
  if (input.nonce) claims.nonce = input.nonce;
  if (input.sid) claims.sid = input.sid;
  if (input.email) {
    claims.email = input.email.address;
    claims.email_verified = input.email.verified;
  }
  return new SignJWT(claims)
    .setProtectedHeader({ alg, kid, typ: "JWT" })
    .setIssuer(input.issuer)
    .setSubject(input.sub)
    .setAudience(input.clientId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ID_TOKEN_TTL_S)
    .sign(privateKey);
}
