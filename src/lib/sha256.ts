import { encodeBase64url } from "./base64url.ts";

/** base64url(SHA-256(text)): client-secret digests, throttle keys, the JWKS ETag, upstream nonce keys. */
export async function sha256Base64url(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return encodeBase64url(new Uint8Array(digest));
}

/** Lowercase hex of SHA-256(text): the hashed nonce Apple's iOS SDK puts in an id_token. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
