import { createHmac } from "node:crypto";

/** A 6-digit code, uniform over 000000..999999 (rejection sampling, no modulo bias). */
export function newCode(): string {
  const limit = 4_294_000_000; // the largest multiple of 10^6 below 2^32
  const [value] = crypto.getRandomValues(new Uint32Array(1));
  if (value === undefined || value >= limit) return newCode();
  return String(value % 1_000_000).padStart(6, "0");
}

/** What is stored for a code: HMAC-SHA256 bound to its challenge row, base64url. */
export function codeDigest(key: Uint8Array, challengeId: string, code: string): string {
  return createHmac("sha256", key).update(`${challengeId}.${code}`).digest("base64url");
}
