import { createHash, timingSafeEqual } from "node:crypto";

/** RFC 7636 §4.1: 43–128 unreserved characters. */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
/** RFC 7636 §4.2: base64url of SHA-256, 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** Whether a `code_challenge` has the S256 form. */
export const isS256Challenge = (challenge: string): boolean => S256_CHALLENGE.test(challenge);

/** RFC 7636 §4.6: base64url(SHA-256(verifier)) equals the challenge, compared in constant time. */
export function verifyPkce(verifier: string, challenge: string): boolean {
  if (!VERIFIER.test(verifier) || !isS256Challenge(challenge)) return false;
  const computed = createHash("sha256").update(verifier).digest();
  const expected = Buffer.from(challenge, "base64url");
  return expected.byteLength === computed.byteLength && timingSafeEqual(expected, computed);
}
