import { createVerifier, TesseraVerifyError, type VerifierOptions } from "@tessera/verify";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { openHarness } from "../harness/open.ts";
import type { Harness, HarnessFactory } from "../harness/types.ts";
import { bearer, login, signup } from "./helpers.ts";

const ISSUER = "http://tessera.test";

/** A verifier whose HTTP goes to the harness app; records every request it makes. */
function verifierFor(h: Harness, options: Partial<VerifierOptions> = {}) {
  const calls: Array<{ method: string; path: string }> = [];
  const verifier = createVerifier({
    issuer: ISSUER,
    audience: ISSUER,
    clock: h.clock,
    fetch: async (url, init) => {
      const { pathname, search, origin } = new URL(url);
      if (origin !== ISSUER) throw new Error(`unexpected fetch of ${url}`);
      calls.push({ method: init.method ?? "GET", path: pathname });
      return h.request(`${pathname}${search}`, init);
    },
    ...options,
  });
  return { verifier, calls };
}

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return "ok";
  } catch (error) {
    return error instanceof TesseraVerifyError ? error.code : String(error);
  }
};

/** tessera/verify against the real app, on each runtime: rotation and introspection. */
export function verifierCases(createHarness: HarnessFactory) {
  describe("tessera/verify with key rotation and introspection", () => {
    it("a verifier holding a cached JWKS keeps verifying through two rotations", async () => {
      const h = await openHarness(createHarness, { ISSUER });
      const { verifier, calls } = verifierFor(h);
      const { email, tokens: before } = await signup(h);
      await verifier.verify(before.access_token);
      const jwksFetches = () => calls.filter((c) => c.path === "/.well-known/jwks.json").length;
      expect(jwksFetches()).toBe(1);

      const first = await h.rotateKeys();
      const afterFirst = (await login(h, email)).access_token;
      expect(decodeProtectedHeader(afterFirst).kid).toBe(first.current);
      // The new current key was published as `next`: the cached JWKS already has it.
      await verifier.verify(afterFirst);
      await verifier.verify(before.access_token);
      expect(jwksFetches()).toBe(1);

      const second = await h.rotateKeys();
      const afterSecond = (await login(h, email)).access_token;
      expect(decodeProtectedHeader(afterSecond).kid).toBe(second.current);
      // An operator rotation promoted a key this cache never saw: one refetch on the unknown
      // kid, once the 30 s refetch cooldown since the last fetch has passed.
      expect(await codeOf(verifier.verify(afterSecond))).toBe("unknown_key");
      h.clock.advance(31_000);
      await verifier.verify(afterSecond);
      expect(jwksFetches()).toBe(2);
      // Tokens signed before both rotations verify until they expire.
      await verifier.verify(before.access_token);
      await verifier.verify(afterFirst);
      h.clock.advance(900_000 + 31_000);
      expect(await codeOf(verifier.verify(before.access_token))).toBe("token_expired");
    });

    it("introspect: true sees a logout before exp; active answers are cached briefly", async () => {
      const h = await openHarness(createHarness, { ISSUER });
      const rs = await h.registerClient({ name: "api", grantTypes: ["client_credentials"] });
      const { verifier, calls } = verifierFor(h, {
        introspect: true,
        clientId: rs.clientId,
        clientSecret: rs.clientSecret,
      });
      const introspections = () => calls.filter((c) => c.path === "/oauth/introspect").length;
      const { tokens } = await signup(h);
      await verifier.verify(tokens.access_token);
      await verifier.verify(tokens.access_token);
      expect(introspections()).toBe(1);
      await h.request("/v1/logout", bearer(tokens.access_token, { method: "POST" }));
      // Within the cache window the earlier answer stands; after it, the logout is seen.
      await verifier.verify(tokens.access_token);
      h.clock.advance(10_001);
      expect(await codeOf(verifier.verify(tokens.access_token))).toBe("token_inactive");
      expect(introspections()).toBe(2);
    });

    it("introspection with wrong client credentials is introspection_unavailable", async () => {
      const h = await openHarness(createHarness, { ISSUER });
      const rs = await h.registerClient({ name: "api", grantTypes: ["client_credentials"] });
      const { verifier } = verifierFor(h, {
        introspect: true,
        clientId: rs.clientId,
        clientSecret: "wrong",
      });
      const { tokens } = await signup(h);
      expect(await codeOf(verifier.verify(tokens.access_token))).toBe("introspection_unavailable");
      expect(() => createVerifier({ issuer: ISSUER, audience: ISSUER, introspect: true })).toThrow(
        TypeError,
      );
    });
  });
}
