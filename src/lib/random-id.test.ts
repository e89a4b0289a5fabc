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

  it("never starts with '-', which a command line would read as a flag", () => {
    // With a plain base64url draw, 1 in 64 would: (63/64)^20000 ≈ 1e-137.
    const firsts = new Set(Array.from({ length: 20000 }, () => randomId()[0]));
    expect(firsts.has("-")).toBe(false);
    // Every other first character still occurs.
    expect(firsts.size).toBe(63);
  });

  it("is not all zeros and varies in every byte position (the pool is really random)", () => {
    const bytes = Array.from({ length: 600 }, () => base64url.decode(randomId()));
    expect(bytes.some((b) => b.every((x) => x === 0))).toBe(false);
    for (let i = 0; i < 16; i++) expect(new Set(bytes.map((b) => b[i])).size).toBeGreaterThan(100);
  });
});
