import { timingSafeEqual } from "node:crypto";
import { base64url } from "jose";

/** Constant-time comparison of two base64url digests (stored secrets are compared only so). */
export function digestsEqual(a: string, b: string): boolean {
  const x = base64url.decode(a);
  const y = base64url.decode(b);
  return x.byteLength === y.byteLength && timingSafeEqual(x, y);
}
