import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { randomId } from "./random-id.ts";

describe("randomId", () => {
  it("is 128 bits as 22 base64url characters, never repeated across many pool refills", () => {
    const ids = Array.from({ length: 5000 }, () => randomId());
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(base64url.decode(id)).toHaveLength(16);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("is not all zeros and varies in every byte position (the pool is really random)", () => {
    const bytes = Array.from({ length: 600 }, () => base64url.decode(randomId()));
    expect(bytes.some((b) => b.every((x) => x === 0))).toBe(false);
    for (let i = 0; i < 16; i++) expect(new Set(bytes.map((b) => b[i])).size).toBeGreaterThan(100);
  });
});
