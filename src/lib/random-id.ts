import { encodeBase64url } from "./base64url.ts";

/** Bytes fetched from the CSPRNG at once: 256 identifiers. */
const POOL_BYTES = 4096;
const ID_BYTES = 16;
let pool = new Uint8Array(0);
let offset = 0;

/**
 * A random identifier, base64url (22 characters), that never starts with `-`. One
 * `getRandomValues` call costs ~8 µs on Node whatever its size (about 3 % of a refresh), so
 * the CSPRNG's output is taken 4 KiB at a time and handed out 16 bytes at a time, each byte
 * once — as Node's own `crypto.randomUUID` keeps a cache of entropy.
 *
 * About 1 in 64 base64url strings starts with `-`, which command lines read as a flag
 * (`clients delete -Xb3…`); such draws are skipped, so the first character is one of 63 and
 * the identifier carries 127.98 bits.
 */
export function randomId(): string {
  for (;;) {
    if (offset + ID_BYTES > pool.length) {
      pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
      offset = 0;
    }
    // The first character is the first byte's top six bits; 62 is `-` in base64url.
    if ((pool[offset] ?? 0) >> 2 !== 62) break;
    pool.fill(0, offset, offset + ID_BYTES);
    offset += ID_BYTES;
  }
  const id = encodeBase64url(pool.subarray(offset, offset + ID_BYTES));
  // Not kept once handed out.
  pool.fill(0, offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return id;
}

/**
 * 256 random bits, base64url (43 characters): the one way Tessera makes a secret to hand out
 * (client secrets, authorization codes, one-time codes, browser-session and CSRF tokens, the
 * development master secret).
 */
export function randomSecret(): string {
  return encodeBase64url(crypto.getRandomValues(new Uint8Array(32)));
}
