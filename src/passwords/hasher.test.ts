import { describe, expect, it } from "vitest";
import { HasherBusy } from "../errors.ts";
import { createPasswordHasher, DEFAULT_SCRYPT_PARAMS } from "./hasher.ts";
import { parseScryptPhc } from "./phc.ts";

describe("scrypt password hasher", () => {
  it("writes PHC strings at the OWASP default cost and verifies them", async () => {
    const hasher = createPasswordHasher();
    const phc = await hasher.hash("correct horse battery staple");
    expect(phc).toMatch(/^\$scrypt\$ln=14,r=8,p=5\$[\w-]{22}\$[\w-]{43}$/);
    expect(parseScryptPhc(phc)?.params).toEqual(DEFAULT_SCRYPT_PARAMS);
    expect(await hasher.verify("correct horse battery staple", phc)).toEqual({
      valid: true,
      needsRehash: false,
    });
    expect((await hasher.verify("correct horse battery stapler", phc)).valid).toBe(false);
  });

  it("salts: the same password hashes differently", async () => {
    const hasher = createPasswordHasher({ params: { ln: 10, r: 8, p: 1 } });
    expect(await hasher.hash("same password")).not.toBe(await hasher.hash("same password"));
  });

  it("asks for a rehash when stored parameters differ from the configured ones", async () => {
    const old = createPasswordHasher({ params: { ln: 10, r: 8, p: 1 } });
    const current = createPasswordHasher({ params: { ln: 11, r: 8, p: 1 } });
    const phc = await old.hash("password one");
    expect(await current.verify("password one", phc)).toEqual({ valid: true, needsRehash: true });
  });

  it("reads standard-base64 PHC strings and refuses malformed ones", async () => {
    const hasher = createPasswordHasher({ params: { ln: 10, r: 8, p: 1 } });
    const phc = await hasher.hash("portable");
    const standard = phc.replaceAll("-", "+").replaceAll("_", "/");
    expect((await hasher.verify("portable", standard)).valid).toBe(true);
    for (const bad of ["", "$scrypt$", "$argon2id$v=19$m=65536,t=3,p=4$abc$def", "plaintext"]) {
      expect((await hasher.verify("portable", bad)).valid).toBe(false);
    }
  });

  it("bounds its queue: past concurrency + maxQueue it answers 503 with Retry-After", async () => {
    const hasher = createPasswordHasher({
      params: { ln: 12, r: 8, p: 1 },
      concurrency: 1,
      maxQueue: 2,
    });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => hasher.hash(`password ${i}`)),
    );
    const fulfilled = results.filter((r) => r.status === "fulfilled");
    const rejected = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    expect(fulfilled).toHaveLength(3);
    expect(rejected).toHaveLength(3);
    for (const r of rejected) {
      expect(r.reason).toBeInstanceOf(HasherBusy);
      expect(r.reason.code).toBe("hasher_busy");
      expect(r.reason.retryAfterS).toBe(1);
    }
    // The queue drains: later work runs again.
    await expect(hasher.hash("after the storm")).resolves.toMatch(/^\$scrypt\$/);
  });

  it("does not block the event loop while hashing", async () => {
    const hasher = createPasswordHasher();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await hasher.hash("a password that takes a while");
    clearInterval(timer);
    // Default cost takes well over 50 ms; a blocked loop would have run the timer ~0 times.
    expect(ticks).toBeGreaterThan(3);
  });
});
