import { base64url } from "jose";

/** base64url(SHA-256(text)): client-secret digests, throttle keys, the JWKS ETag. */
export async function sha256Base64url(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return base64url.encode(new Uint8Array(digest));
}
