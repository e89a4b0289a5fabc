/**
 * ID tokens as an upstream provider signs them, for the native token-exchange tests: what
 * "Sign in with Apple" on iOS or Google's Credential Manager hands the app. jose only (no
 * node: imports), so the same code mints tokens on Node and inside workerd from a private JWK
 * the upstream server exported (tests/upstream/*.ts; provided to workerd by
 * tests/worker/upstream.global-setup.ts).
 */
import { exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, SignJWT } from "jose";

/** A private signing JWK with its `kid` and `alg`. */
export type SigningJwk = JWK & { kid: string; alg: string };

/** A new key pair as a private JWK (RS256 by default), `kid` set. */
export async function generateSigningJwk(alg = "RS256", kid?: string): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: kid ?? `k-${crypto.randomUUID()}`, alg, use: "sig" };
}

/** The public half of a private JWK (what a JWKS publishes). */
export function publicJwk(jwk: SigningJwk): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub;
}

/**
 * Signs `claims` with `jwk` (header `kid` and `alg` from the key). `iat` defaults to `now`
 * (seconds) and `exp` to `iat` + 10 minutes; pass them to override (e.g. an expired token).
 */
export async function signIdToken(
  jwk: SigningJwk,
  claims: JWTPayload & Record<string, unknown>,
  options: { now?: number; header?: Record<string, unknown> } = {},
): Promise<string> {
  const key = await importJWK(jwk, jwk.alg);
  const iat = claims.iat ?? Math.floor((options.now ?? Date.now()) / 1000);
  return new SignJWT({ ...claims, iat, exp: claims.exp ?? iat + 600 })
    .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: "JWT", ...options.header })
    .sign(key);
}

/** Lowercase hex SHA-256 of `text`: the nonce form Apple's iOS SDK puts in the token. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** base64url of SHA-256 of `text` (a PKCE S256 challenge). */
export async function s256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}
