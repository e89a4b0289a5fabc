import { base64url } from "jose";

/** A random 128-bit identifier, base64url (22 characters). */
export function randomId(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(16)));
}
