import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { encodeBase64url } from "./base64url.ts";

describe("encodeBase64url", () => {
  it("encodes bytes exactly as jose does, unpadded, for every length mod 3", () => {
    for (let length = 0; length < 70; length++) {
      const bytes = crypto.getRandomValues(new Uint8Array(length));
      const encoded = encodeBase64url(bytes);
      expect(encoded).toBe(base64url.encode(bytes));
      expect(encoded).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(base64url.decode(encoded)).toEqual(bytes);
    }
  });

  it("encodes only the viewed bytes of a subarray", () => {
    const pool = Uint8Array.from({ length: 64 }, (_, i) => i);
    expect(encodeBase64url(pool.subarray(16, 32))).toBe(base64url.encode(pool.slice(16, 32)));
  });

  it("encodes a string as its UTF-8", () => {
    const json = JSON.stringify({ name: "Zoë 🙂", "a/b": "?>" });
    expect(encodeBase64url(json)).toBe(base64url.encode(json));
    expect(new TextDecoder().decode(base64url.decode(encodeBase64url(json)))).toBe(json);
  });
});
