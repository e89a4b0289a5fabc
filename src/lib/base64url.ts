import { Buffer } from "node:buffer";

/**
 * base64url without padding (RFC 4648 §5) of bytes, or of a string's UTF-8. Node's encoder
 * (`nodejs_compat` on Workers) is ~13× faster than jose's for a JWT payload (3.8 µs → 0.3 µs),
 * and a refresh encodes four values. Decoding stays jose's `base64url.decode`, which refuses
 * input that is not base64url where Node's decoder skips it.
 */
export function encodeBase64url(input: Uint8Array | string): string {
  const bytes =
    typeof input === "string"
      ? Buffer.from(input, "utf8")
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  return bytes.toString("base64url");
}
