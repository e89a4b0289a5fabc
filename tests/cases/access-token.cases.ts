import { base64url, decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { openHarness } from "../harness/open.ts";
import type { HarnessFactory } from "../harness/types.ts";
import { bearer, errorOf, signup, verifyWithJwks } from "./helpers.ts";

const enc = (value: unknown) => base64url.encode(JSON.stringify(value));

/** Access tokens: RFC 9068 shape, offline verification, refusals at /v1/me. */
export function accessTokenCases(createHarness: HarnessFactory) {
  describe("access tokens", () => {
    it("is an RFC 9068 JWT that another service verifies against the JWKS", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const { payload, protectedHeader } = await verifyWithJwks(h, tokens.access_token);
      expect(protectedHeader).toMatchObject({ alg: "EdDSA", typ: "at+jwt" });
      expect(typeof protectedHeader.kid).toBe("string");
      expect(payload).toMatchObject({
        iss: h.config.issuer,
        aud: h.config.issuer,
        sub: tokens.user?.id,
        client_id: "first-party",
      });
      expect(Number(payload.exp) - Number(payload.iat)).toBe(900);
      expect(typeof payload.jti).toBe("string");
      expect(typeof payload.sid).toBe("string");
    });

    for (const alg of ["ES256", "RS256"] as const) {
      it(`signs with ${alg} when SIGNING_ALG=${alg}`, async () => {
        const h = await openHarness(createHarness, { SIGNING_ALG: alg });
        const { tokens } = await signup(h);
        const { protectedHeader } = await verifyWithJwks(h, tokens.access_token);
        expect(protectedHeader.alg).toBe(alg);
        const me = await h.request("/v1/me", bearer(tokens.access_token));
        expect(me.status).toBe(200);
      });
    }

    it("uses ACCESS_TOKEN_AUDIENCE and ACCESS_TOKEN_TTL", async () => {
      const h = await openHarness(createHarness, {
        ACCESS_TOKEN_AUDIENCE: "https://api.example.com",
        ACCESS_TOKEN_TTL: "5m",
      });
      const { tokens } = await signup(h);
      expect(tokens.expires_in).toBe(300);
      const claims = decodeJwt(tokens.access_token);
      expect(claims.aud).toBe("https://api.example.com");
      expect(Number(claims.exp) - Number(claims.iat)).toBe(300);
    });

    it("refuses a missing token (or another scheme) with a bare Bearer challenge", async () => {
      const h = await openHarness(createHarness);
      for (const authorization of [undefined, "Basic dXNlcjpwYXNz", "Bearer", "Bearer "]) {
        const headers: Record<string, string> = authorization
          ? { Authorization: authorization }
          : {};
        const res = await h.request("/v1/me", { headers });
        expect(res.headers.get("WWW-Authenticate"), authorization).toBe("Bearer");
        expect(await errorOf(res)).toMatchObject({ status: 401, error: "invalid_token" });
      }
    });

    it("refuses tampered, alg:none, wrong-audience, expired and malformed tokens", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const [head, body, sig] = tokens.access_token.split(".") as [string, string, string];
      const claims = decodeJwt(tokens.access_token);
      const header = decodeProtectedHeader(tokens.access_token);

      const { privateKey } = await generateKeyPair("EdDSA");
      const foreignKey = await new SignJWT(claims)
        .setProtectedHeader({ ...header, alg: "EdDSA" })
        .sign(privateKey);

      const attacks: Record<string, string> = {
        "tampered payload": `${head}.${enc({ ...claims, sub: "someone-else" })}.${sig}`,
        "tampered signature": `${head}.${body}.${sig.slice(0, -4)}AAAA`,
        "alg none": `${enc({ alg: "none", typ: "at+jwt" })}.${body}.`,
        "alg none with kid": `${enc({ ...header, alg: "none" })}.${body}.`,
        "signed by a foreign key with our kid": foreignKey,
        "wrong typ": `${enc({ ...header, typ: "JWT" })}.${body}.${sig}`,
        garbage: "not-a-jwt",
        "extra segment": `${tokens.access_token}.extra`,
        "refresh token as bearer": tokens.refresh_token,
      };
      for (const [name, token] of Object.entries(attacks)) {
        const res = await h.request("/v1/me", bearer(token));
        expect(res.status, name).toBe(401);
        expect(res.headers.get("WWW-Authenticate"), name).toBe('Bearer error="invalid_token"');
        expect(((await res.json()) as { error: string }).error, name).toBe("invalid_token");
      }
    });

    it("refuses server-signed tokens with a wrong audience, issuer or missing claims", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const { kid, alg, privateKey } = await h.signingKey();
      const claims = decodeJwt(tokens.access_token);
      const sign = (payload: Record<string, unknown>, typ = "at+jwt") =>
        new SignJWT(payload).setProtectedHeader({ alg, kid, typ }).sign(privateKey);
      // Control: the crafted token with unchanged claims is accepted.
      expect((await h.request("/v1/me", bearer(await sign(claims)))).status).toBe(200);
      const { exp: _exp, ...withoutExp } = claims;
      const { sid: _sid, ...withoutSid } = claims;
      const variants: Record<string, Record<string, unknown>> = {
        "wrong audience": { ...claims, aud: "https://elsewhere.example.com" },
        "missing audience": { ...claims, aud: undefined },
        "issuer with trailing slash": { ...claims, iss: `${h.config.issuer}/` },
        "foreign issuer": { ...claims, iss: "https://evil.example.com" },
        "missing exp": withoutExp,
        "non-numeric exp": { ...claims, exp: "tomorrow" },
        "nbf in the future": { ...claims, nbf: Math.floor(h.clock.now() / 1000) + 600 },
        "missing sid": withoutSid,
      };
      for (const [name, payload] of Object.entries(variants)) {
        const res = await h.request("/v1/me", bearer(await sign(payload)));
        expect(res.status, name).toBe(401);
      }
      // RFC 9068 §4: a correctly signed JWT that is not typed as an access token.
      for (const typ of ["JWT", "id_token+jwt", "at+jwt+x"]) {
        const res = await h.request("/v1/me", bearer(await sign(claims, typ)));
        expect(res.status, typ).toBe(401);
      }
    });

    it("refuses an expired token, allowing at most 5 s of skew", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      h.clock.advance(900_000 + 4_000);
      expect((await h.request("/v1/me", bearer(tokens.access_token))).status).toBe(200);
      h.clock.advance(2_000);
      const res = await h.request("/v1/me", bearer(tokens.access_token));
      expect(await errorOf(res)).toMatchObject({ status: 401, error: "invalid_token" });
    });
  });
}
