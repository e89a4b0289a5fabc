import {
  createVerifier,
  type FetchLike,
  requireScope,
  type TesseraEnv,
  TesseraVerifyError,
  tesseraAuth,
  type VerifierOptions,
} from "@tessera/verify";
import { Hono } from "hono";
import {
  base64url,
  exportJWK,
  generateKeyPair,
  type JWTHeaderParameters,
  type JWTPayload,
  SignJWT,
} from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestClock, type Harness, type HarnessFactory } from "../harness/types.ts";
import { bearer, signup } from "./helpers.ts";

/**
 * The verifier SDK (`@tessera/verify`, the built package) against the real app, on each
 * runtime: Node (tests/node/verify.test.ts) and workerd (tests/worker/verify.test.ts). The
 * verifier's HTTP goes to the harness app through an injected `fetch`, and its clock is
 * injected, so nothing here needs a network or a runtime-specific API.
 */

const ISSUER = "http://tessera.test";
const METADATA = `${ISSUER}/.well-known/oauth-authorization-server`;
const OIDC_METADATA = `${ISSUER}/.well-known/openid-configuration`;
const JWKS = `${ISSUER}/.well-known/jwks.json`;

/** One request the verifier made, and what the app answered. */
type Call = { url: string; ifNoneMatch: string | null; redirect?: string; status?: number };

/** The error code a verification ends with, or "ok". */
async function codeOf(result: Promise<unknown>): Promise<string> {
  try {
    await result;
    return "ok";
  } catch (error) {
    if (error instanceof TesseraVerifyError) return error.code;
    throw error;
  }
}

const urls = (calls: Call[]) => calls.map((call) => call.url);

/** A key pair that is not the server's. */
async function foreignKey(alg: "EdDSA" | "ES256" = "EdDSA") {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicJwk: await exportJWK(publicKey) };
}

/** createVerifier, the JWKS cache and the Hono middleware against the app on `createHarness`. */
export function verifySdkCases(createHarness: HarnessFactory) {
  let h: Harness;
  let userToken: string;
  let userId: string;

  beforeAll(async () => {
    h = await createHarness({ ISSUER });
    const { tokens } = await signup(h);
    userToken = tokens.access_token;
    userId = tokens.user?.id as string;
  });
  afterAll(async () => {
    await h?.close();
  });

  /**
   * A `fetch` that routes `http://tessera.test/...` to the real app and refuses every other
   * host, logging each call. `rewrite` may alter the app's response (or answer instead of it).
   */
  function appFetch(
    calls: Call[] = [],
    rewrite?: (url: string, res: Response) => Response | Promise<Response>,
  ): FetchLike {
    return async (url, init) => {
      const ifNoneMatch = new Headers(init.headers).get("If-None-Match");
      const call: Call = { url, ifNoneMatch, redirect: init.redirect };
      calls.push(call);
      const target = new URL(url);
      if (target.origin !== ISSUER) throw new TypeError(`unreachable host: ${target.host}`);
      let res = await h.request(`${target.pathname}${target.search}`, init);
      if (rewrite) res = await rewrite(url, res);
      call.status = res.status;
      return res;
    };
  }

  /** A verifier for the harness app on its own clock (starting at the app's time). */
  function verifierFor(options: Partial<VerifierOptions> & { calls?: Call[] } = {}) {
    const { calls = [], ...rest } = options;
    const clock = createTestClock(h.clock.now());
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: ISSUER,
      fetch: appFetch(calls),
      clock,
      ...rest,
    });
    return { verifier, clock, calls };
  }

  /** Claims the server would put in a token issued at `atMs`; `undefined` drops a claim. */
  function claimsAt(atMs: number, overrides: Record<string, unknown> = {}): JWTPayload {
    const iat = Math.floor(atMs / 1000);
    const claims: Record<string, unknown> = {
      iss: ISSUER,
      aud: ISSUER,
      sub: "user-1",
      sid: "session-1",
      client_id: "first-party",
      jti: crypto.randomUUID(),
      iat,
      exp: iat + 900,
      ...overrides,
    };
    for (const [name, value] of Object.entries(claims))
      if (value === undefined) delete claims[name];
    return claims;
  }

  /** A token signed with the server's current key, with odd claims or header members. */
  async function serverToken(
    overrides: Record<string, unknown> = {},
    header: Partial<JWTHeaderParameters> = {},
    atMs = h.clock.now(),
  ): Promise<string> {
    const { kid, alg, privateKey } = await h.signingKey();
    const protectedHeader = { alg, kid, typ: "at+jwt", ...header };
    for (const [name, value] of Object.entries(protectedHeader)) {
      if (value === undefined) delete (protectedHeader as Record<string, unknown>)[name];
    }
    return new SignJWT(claimsAt(atMs, overrides))
      .setProtectedHeader(protectedHeader as JWTHeaderParameters)
      .sign(privateKey, header.crit ? { crit: { "tessera-test": true } } : undefined);
  }

  /** The app's published JWKS. */
  async function publishedKeys() {
    const res = await h.request("/.well-known/jwks.json");
    return (await res.json()) as { keys: Array<Record<string, unknown> & { kid: string }> };
  }

  describe("createVerifier against the app", () => {
    it("discovers the JWKS from the issuer metadata and verifies a real token", async () => {
      const { verifier, calls } = verifierFor();
      const claims = await verifier.verify(userToken);
      expect(claims).toMatchObject({
        iss: ISSUER,
        aud: ISSUER,
        sub: userId,
        client_id: "first-party",
      });
      expect(typeof claims.sid).toBe("string");
      expect(typeof claims.jti).toBe("string");
      expect(claims.exp - claims.iat).toBe(900);
      expect(urls(calls)).toEqual([METADATA, JWKS]);
      // Redirects are never followed (jose's remote JWKS does the same).
      expect(calls.map((call) => call.redirect)).toEqual(["manual", "manual"]);
      // The cached JWKS serves the next verifications.
      await verifier.verify(userToken);
      await verifier.verify(await serverToken());
      expect(calls).toHaveLength(2);
    });

    it("falls back to /.well-known/openid-configuration", async () => {
      const calls: Call[] = [];
      const fetch = appFetch(calls, (url, res) =>
        url === METADATA ? new Response("not here", { status: 404 }) : res,
      );
      const { verifier } = verifierFor({ fetch });
      expect((await verifier.verify(userToken)).sub).toBe(userId);
      expect(urls(calls)).toEqual([METADATA, OIDC_METADATA, JWKS]);
    });

    it("refuses metadata naming another issuer, and never follows its jwks_uri", async () => {
      const calls: Call[] = [];
      const fetch = appFetch(calls, (url, res) =>
        url === METADATA
          ? Response.json({ issuer: "http://evil.test", jwks_uri: "http://evil.test/jwks.json" })
          : res,
      );
      const { verifier } = verifierFor({ fetch });
      expect(await codeOf(verifier.verify(userToken))).toBe("jwks_unavailable");
      expect(urls(calls)).toEqual([METADATA]);
    });

    it("uses an explicit jwksUrl without discovery", async () => {
      const { verifier, calls } = verifierFor({ jwksUrl: JWKS });
      expect((await verifier.verify(userToken)).sub).toBe(userId);
      expect(urls(calls)).toEqual([JWKS]);
    });

    it("concurrent first verifications share one metadata and one JWKS fetch", async () => {
      const { verifier, calls } = verifierFor();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => verifier.verify(userToken)),
      );
      expect(results.every((claims) => claims.sub === userId)).toBe(true);
      expect(urls(calls)).toEqual([METADATA, JWKS]);
    });

    it("refuses an expired token beyond the 30 s default tolerance, with the injected clock", async () => {
      const { verifier, clock } = verifierFor();
      const token = await serverToken();
      const { exp } = await verifier.verify(token);
      clock.set((exp + 30) * 1000 - 1);
      expect(await codeOf(verifier.verify(token))).toBe("ok");
      clock.set((exp + 30) * 1000);
      expect(await codeOf(verifier.verify(token))).toBe("token_expired");
    });

    it("honours a custom clockTolerance", async () => {
      const { verifier, clock } = verifierFor({ clockTolerance: 0 });
      const token = await serverToken();
      const { exp } = await verifier.verify(token);
      clock.set(exp * 1000 - 1);
      expect(await codeOf(verifier.verify(token))).toBe("ok");
      clock.set(exp * 1000);
      expect(await codeOf(verifier.verify(token))).toBe("token_expired");
    });

    it("refuses tokens from the future: nbf or iat beyond the tolerance", async () => {
      const { verifier } = verifierFor();
      const now = Math.floor(h.clock.now() / 1000);
      expect(await codeOf(verifier.verify(await serverToken({ nbf: now + 20 })))).toBe("ok");
      expect(await codeOf(verifier.verify(await serverToken({ nbf: now + 60 })))).toBe(
        "token_not_yet_valid",
      );
      expect(await codeOf(verifier.verify(await serverToken({ iat: now + 60 })))).toBe(
        "token_not_yet_valid",
      );
    });

    it("refuses a wrong issuer", async () => {
      const { verifier } = verifierFor();
      const token = await serverToken({ iss: "http://evil.test" });
      expect(await codeOf(verifier.verify(token))).toBe("invalid_issuer");
    });

    it("refuses a wrong audience; accepts any audience of a list", async () => {
      const other = verifierFor({ audience: "https://api.example.com" }).verifier;
      expect(await codeOf(other.verify(userToken))).toBe("invalid_audience");
      const list = verifierFor({ audience: ["https://api.example.com", ISSUER] }).verifier;
      expect(await codeOf(list.verify(userToken))).toBe("ok");
    });

    it('refuses alg "none"', async () => {
      const { verifier } = verifierFor();
      const { kid } = await h.signingKey();
      const encode = (part: object) => base64url.encode(JSON.stringify(part));
      const unsigned = `${encode({ alg: "none", kid, typ: "at+jwt" })}.${encode(claimsAt(h.clock.now()))}.`;
      expect(await codeOf(verifier.verify(unsigned))).toBe("algorithm_not_allowed");
    });

    it("refuses HS256 signed with the published public key as the secret", async () => {
      const { verifier, calls } = verifierFor();
      const { kid } = await h.signingKey();
      const jwk = (await publishedKeys()).keys.find((key) => key.kid === kid);
      for (const secret of [JSON.stringify(jwk), String(jwk?.x)]) {
        const token = await new SignJWT(claimsAt(h.clock.now()))
          .setProtectedHeader({ alg: "HS256", kid, typ: "at+jwt" })
          .sign(new TextEncoder().encode(secret));
        expect(await codeOf(verifier.verify(token))).toBe("algorithm_not_allowed");
      }
      // Refused on the header alone: no key was even fetched.
      expect(calls).toEqual([]);
    });

    it("refuses a token signed by a foreign key under the server's kid", async () => {
      const { verifier } = verifierFor();
      const { kid } = await h.signingKey();
      const { privateKey } = await foreignKey();
      const token = await new SignJWT(claimsAt(h.clock.now()))
        .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" })
        .sign(privateKey);
      expect(await codeOf(verifier.verify(token))).toBe("invalid_signature");
    });

    it("refuses a foreign key under an unknown kid, and an alg that is not the key's", async () => {
      const { verifier } = verifierFor();
      const ed = await foreignKey("EdDSA");
      const unknown = await new SignJWT(claimsAt(h.clock.now()))
        .setProtectedHeader({ alg: "EdDSA", kid: "a".repeat(43), typ: "at+jwt" })
        .sign(ed.privateKey);
      expect(await codeOf(verifier.verify(unknown))).toBe("unknown_key");
      // ES256 under the server's (EdDSA) kid: jose's key selection refuses the mismatch.
      const { kid } = await h.signingKey();
      const es = await foreignKey("ES256");
      const mismatched = await new SignJWT(claimsAt(h.clock.now()))
        .setProtectedHeader({ alg: "ES256", kid, typ: "at+jwt" })
        .sign(es.privateKey);
      expect(await codeOf(verifier.verify(mismatched))).toBe("algorithm_not_allowed");
    });

    it("requires typ at+jwt (RFC 9068 §4)", async () => {
      const { verifier } = verifierFor();
      expect(await codeOf(verifier.verify(await serverToken({}, { typ: "JWT" })))).toBe(
        "invalid_typ",
      );
      expect(await codeOf(verifier.verify(await serverToken({}, { typ: undefined })))).toBe(
        "invalid_typ",
      );
      const mediaType = await serverToken({}, { typ: "application/at+jwt" });
      expect(await codeOf(verifier.verify(mediaType))).toBe("ok");
    });

    it.each([
      ["jku", { jku: "http://attacker.test/jwks.json" }],
      ["x5u", { x5u: "http://attacker.test/cert.pem" }],
      ["x5c", { x5c: ["MIIBfake"] }],
    ] as Array<[string, Partial<JWTHeaderParameters>]>)(
      "refuses a %s header, even on a server-signed token, and never fetches it",
      async (_, header) => {
        const { verifier, calls } = verifierFor();
        expect(await codeOf(verifier.verify(await serverToken({}, header)))).toBe(
          "unsupported_header",
        );
        expect(urls(calls).filter((url) => url.includes("attacker.test"))).toEqual([]);
      },
    );

    it("refuses an embedded jwk header, whoever signed the token", async () => {
      const { verifier, calls } = verifierFor();
      const attacker = await foreignKey();
      const selfSigned = await new SignJWT(claimsAt(h.clock.now()))
        .setProtectedHeader({
          alg: "EdDSA",
          kid: "attacker",
          typ: "at+jwt",
          jwk: attacker.publicJwk,
        })
        .sign(attacker.privateKey);
      expect(await codeOf(verifier.verify(selfSigned))).toBe("unsupported_header");
      const published = (await publishedKeys()).keys[0] as JWTHeaderParameters["jwk"];
      const serverSigned = await serverToken({}, { jwk: published });
      expect(await codeOf(verifier.verify(serverSigned))).toBe("unsupported_header");
      // The attacker's jku pointing at its key: refused before any fetch.
      const withJku = await new SignJWT(claimsAt(h.clock.now()))
        .setProtectedHeader({
          alg: "EdDSA",
          kid: "attacker",
          typ: "at+jwt",
          jku: "http://attacker.test/jwks.json",
        })
        .sign(attacker.privateKey);
      expect(await codeOf(verifier.verify(withJku))).toBe("unsupported_header");
      expect(calls).toEqual([]);
    });

    it("refuses any crit extension (RFC 7515 §4.1.11), even one jose knows (b64)", async () => {
      const { verifier } = verifierFor();
      const unknown = await serverToken({}, { crit: ["tessera-test"], "tessera-test": 1 });
      expect(await codeOf(verifier.verify(unknown))).toBe("unsupported_header");
      const b64 = await serverToken({}, { crit: ["b64"], b64: true });
      expect(await codeOf(verifier.verify(b64))).toBe("unsupported_header");
    });

    it.each(["sub", "jti", "client_id", "exp", "iat"])("requires the %s claim", async (claim) => {
      const { verifier } = verifierFor();
      const token = await serverToken({ [claim]: undefined });
      expect(await codeOf(verifier.verify(token))).toBe("invalid_claims");
    });

    it.each([
      ["sub", 42],
      ["jti", ""],
      ["client_id", ["first-party"]],
      ["sid", 7],
      ["scope", ["read"]],
      ["exp", "later"],
    ])("refuses a %s claim of the wrong type", async (claim, value) => {
      const { verifier } = verifierFor();
      const token = await serverToken({ [claim]: value });
      expect(await codeOf(verifier.verify(token))).toBe("invalid_claims");
    });

    it("accepts a token without sid (client credentials) and returns scope", async () => {
      const { verifier } = verifierFor();
      const claims = await verifier.verify(await serverToken({ sid: undefined, scope: "read" }));
      expect(claims.sid).toBeUndefined();
      expect(claims.scope).toBe("read");
    });

    it.each([
      ["empty", ""],
      ["not a JWT", "not-a-jwt"],
      ["two parts", "abc.def"],
      ["garbage", "a.b.c"],
    ])("refuses a malformed token (%s)", async (_, token) => {
      const { verifier } = verifierFor();
      expect(await codeOf(verifier.verify(token))).toBe("malformed_token");
    });

    it("refuses a token without kid", async () => {
      const { verifier } = verifierFor();
      expect(await codeOf(verifier.verify(await serverToken({}, { kid: undefined })))).toBe(
        "malformed_token",
      );
    });

    it("narrows algorithms; refuses none, HS* and unknown algorithms at creation", () => {
      const options = { issuer: ISSUER, audience: ISSUER };
      for (const algorithms of [["none"], ["HS256"], ["PS256"], []]) {
        expect(() => createVerifier({ ...options, algorithms } as VerifierOptions)).toThrow(
          TypeError,
        );
      }
      expect(() => createVerifier({ ...options, clockTolerance: -1 })).toThrow(TypeError);
      expect(() => createVerifier({ ...options, issuer: "tessera.test" })).toThrow(TypeError);
      expect(() => createVerifier({ ...options, audience: [] })).toThrow(TypeError);
      expect(() => createVerifier({ ...options, timeout: 0 })).toThrow(TypeError);
      expect(() => createVerifier({ ...options, jwksUrl: "file:///etc/jwks.json" })).toThrow(
        TypeError,
      );
    });

    it("refuses an algorithm left out of `algorithms`", async () => {
      const { verifier } = verifierFor({ algorithms: ["ES256"] });
      expect(await codeOf(verifier.verify(userToken))).toBe("algorithm_not_allowed");
    });

    it("never puts the token or claim values in error messages", async () => {
      const { verifier } = verifierFor({ audience: "https://api.example.com" });
      const token = await serverToken({ sub: "secret-subject" });
      const error = await verifier.verify(token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TesseraVerifyError);
      const text = `${(error as Error).message} ${JSON.stringify(error)}`;
      expect(text).not.toContain("secret-subject");
      expect(text).not.toContain(token.split(".")[1]);
      expect((error as TesseraVerifyError).cause).toBeUndefined();
    });

    it("runs afterVerify with the claims, only for accepted tokens, and lets it refuse", async () => {
      const seen: string[] = [];
      const { verifier } = verifierFor({
        afterVerify: async (claims, token) => {
          seen.push(`${claims.sub}:${token === userToken}`);
          if (claims.sub === "revoked") throw new Error("revoked");
        },
      });
      await verifier.verify(userToken);
      await expect(verifier.verify(await serverToken({ sub: "revoked" }))).rejects.toThrow(
        "revoked",
      );
      expect(await codeOf(verifier.verify(await serverToken({ iss: "http://evil.test" })))).toBe(
        "invalid_issuer",
      );
      expect(seen).toEqual([`${userId}:true`, "revoked:false"]);
    });
  });

  describe("issuer metadata locations", () => {
    it("tries RFC 8414 (appended and inserted before a path), then OpenID Connect", async () => {
      // Through the public API: every metadata URL answers 404, so discovery tries each in turn.
      const tried = async (issuer: string) => {
        const calls: string[] = [];
        const verifier = createVerifier({
          issuer,
          audience: issuer,
          fetch: async (url) => {
            calls.push(url);
            return new Response("not here", { status: 404 });
          },
        });
        expect(await codeOf(verifier.verify(userToken))).toBe("jwks_unavailable");
        return calls;
      };
      expect(await tried("https://auth.example.com")).toEqual([
        "https://auth.example.com/.well-known/oauth-authorization-server",
        "https://auth.example.com/.well-known/openid-configuration",
      ]);
      expect(await tried("https://example.com/tenant/")).toEqual([
        "https://example.com/tenant/.well-known/oauth-authorization-server",
        "https://example.com/.well-known/oauth-authorization-server/tenant",
        "https://example.com/tenant/.well-known/openid-configuration",
      ]);
    });
  });

  describe("JWKS caching", () => {
    const jwksCalls = (calls: Call[]) => calls.filter((call) => call.url === JWKS);

    it("a flood of forged kids causes at most one refetch per 30 s cooldown", async () => {
      const { verifier, clock, calls } = verifierFor();
      await verifier.verify(userToken);
      expect(jwksCalls(calls)).toHaveLength(1);
      const { privateKey } = await foreignKey();
      const forged = (i: number) =>
        new SignJWT(claimsAt(clock.now()))
          .setProtectedHeader({ alg: "EdDSA", kid: `forged-${i}`, typ: "at+jwt" })
          .sign(privateKey);
      const flood = async () => {
        const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => forged(i)));
        const codes = await Promise.all(tokens.map((token) => codeOf(verifier.verify(token))));
        expect(new Set(codes)).toEqual(new Set(["unknown_key"]));
      };
      // Within the cooldown of the first fetch: no refetch at all.
      await flood();
      expect(jwksCalls(calls)).toHaveLength(1);
      // Cooldown over: the whole flood shares one refetch...
      clock.advance(30_000);
      await flood();
      expect(jwksCalls(calls)).toHaveLength(2);
      // ...and the next flood within the cooldown causes none.
      clock.advance(29_000);
      await flood();
      expect(jwksCalls(calls)).toHaveLength(2);
      clock.advance(1_000);
      await flood();
      expect(jwksCalls(calls)).toHaveLength(3);
      // Good tokens kept verifying from the cache throughout.
      expect(await codeOf(verifier.verify(await serverToken({}, {}, clock.now())))).toBe("ok");
      expect(jwksCalls(calls)).toHaveLength(3);
    });

    it("picks up a key it has not seen by refetching on its kid", async () => {
      const { kid } = await h.signingKey();
      let hideCurrent = true;
      const calls: Call[] = [];
      const fetch = appFetch(calls, async (url, res) => {
        if (url !== JWKS || !hideCurrent || res.status !== 200) return res;
        // The first JWKS predates the current key (as before a rotation).
        const body = (await res.json()) as { keys: Array<{ kid: string }> };
        return Response.json(
          { keys: body.keys.filter((key) => key.kid !== kid) },
          { headers: { "Cache-Control": "public, max-age=300", ETag: '"old"' } },
        );
      });
      const { verifier, clock } = verifierFor({ fetch, jwksUrl: JWKS });
      expect(await codeOf(verifier.verify(userToken))).toBe("unknown_key");
      hideCurrent = false;
      // Still inside the cooldown of the first fetch: not yet.
      expect(await codeOf(verifier.verify(userToken))).toBe("unknown_key");
      clock.advance(30_000);
      expect(await codeOf(verifier.verify(userToken))).toBe("ok");
      expect(urls(calls)).toEqual([JWKS, JWKS]);
    });

    it("honours the JWKS Cache-Control max-age (300 s from the app)", async () => {
      const { verifier, clock, calls } = verifierFor({ jwksUrl: JWKS });
      const token = await serverToken({}, {}, clock.now());
      await verifier.verify(token);
      clock.advance(299_000);
      await verifier.verify(token);
      expect(jwksCalls(calls)).toHaveLength(1);
      clock.advance(1_000);
      await verifier.verify(token);
      expect(jwksCalls(calls)).toHaveLength(2);
    });

    it("revalidates with If-None-Match; a 304 keeps the cached keys for another max-age", async () => {
      const { verifier, clock, calls } = verifierFor({ jwksUrl: JWKS });
      const etag = (await h.request("/.well-known/jwks.json")).headers.get("ETag");
      expect(etag).toBeTruthy();
      await verifier.verify(await serverToken({}, {}, clock.now()));
      clock.advance(300_000);
      await verifier.verify(await serverToken({}, {}, clock.now()));
      expect(calls.map(({ ifNoneMatch, status }) => ({ ifNoneMatch, status }))).toEqual([
        { ifNoneMatch: null, status: 200 },
        { ifNoneMatch: etag, status: 304 },
      ]);
      clock.advance(299_000);
      await verifier.verify(await serverToken({}, {}, clock.now()));
      expect(calls).toHaveLength(2);
      clock.advance(1_000);
      await verifier.verify(await serverToken({}, {}, clock.now()));
      expect(calls.map((call) => call.status)).toEqual([200, 304, 304]);
    });

    it.each([
      ["max-age=5 (raised to the 30 s floor)", "public, max-age=5", 30],
      ["max-age=3600", "public, max-age=3600", 3600],
      ["max-age=3600 with Age: 3000", "public, max-age=3600", 600, "3000"],
      ["max-age of a week (capped at 24 h)", "max-age=604800", 86_400],
      ["no-cache (the floor)", "no-cache", 30],
      ["no Cache-Control (300 s)", undefined, 300],
    ])("caches the JWKS per %s", async (_, cacheControl, seconds, age?: string) => {
      const calls: Call[] = [];
      const fetch = appFetch(calls, (url, res) => {
        if (url !== JWKS) return res;
        const headers = new Headers(res.headers);
        headers.delete("Cache-Control");
        headers.delete("ETag");
        if (cacheControl) headers.set("Cache-Control", cacheControl);
        if (age) headers.set("Age", age);
        return new Response(res.body, { status: res.status, headers });
      });
      const { verifier, clock } = verifierFor({ fetch, jwksUrl: JWKS });
      const verifyNow = async () => verifier.verify(await serverToken({}, {}, clock.now()));
      await verifyNow();
      clock.advance(seconds * 1000 - 1);
      await verifyNow();
      expect(calls).toHaveLength(1);
      clock.advance(1);
      await verifyNow();
      expect(calls).toHaveLength(2);
    });

    it("keeps verifying with a stale JWKS while the issuer is down, retrying after the cooldown", async () => {
      let down = false;
      const calls: Call[] = [];
      const fetch = appFetch(calls, (_url, res) =>
        down ? new Response("unavailable", { status: 503 }) : res,
      );
      const { verifier, clock } = verifierFor({ fetch, jwksUrl: JWKS });
      const verifyNow = async () => verifier.verify(await serverToken({}, {}, clock.now()));
      await verifyNow();
      down = true;
      clock.advance(300_000);
      await verifyNow();
      await verifyNow();
      expect(calls.map((call) => call.status)).toEqual([200, 503]);
      clock.advance(30_000);
      down = false;
      await verifyNow();
      // Revalidated against the stale copy's ETag once the issuer is back.
      expect(calls.map((call) => call.status)).toEqual([200, 503, 304]);
    });

    it("reports jwks_unavailable when no JWKS was ever fetched", async () => {
      const failing: FetchLike = async () => {
        throw new TypeError("network down");
      };
      const { verifier } = verifierFor({ fetch: failing });
      const error = await verifier.verify(userToken).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "TesseraVerifyError", code: "jwks_unavailable" });
      const { verifier: notJson } = verifierFor({
        fetch: appFetch([], (url, res) => (url === JWKS ? new Response("<html>") : res)),
      });
      expect(await codeOf(notJson.verify(userToken))).toBe("jwks_unavailable");
    });
  });

  describe("Hono middleware", () => {
    /** A small resource server guarded by tesseraAuth and requireScope. */
    function resourceServer(
      auth: ReturnType<typeof tesseraAuth> = tesseraAuth(verifierFor().verifier),
    ) {
      const app = new Hono<TesseraEnv>();
      app.use("/api/*", auth);
      app.get("/api/me", (c) => c.json({ sub: c.var.tessera.sub, scope: c.var.tessera.scope }));
      app.get("/api/orders", requireScope("orders:read"), (c) => c.text("orders"));
      app.post("/api/orders", requireScope("orders:read", "orders:write"), (c) => c.text("made"));
      app.get("/unguarded", requireScope("x"), (c) => c.text("never"));
      app.onError((error, c) => c.text(error.message, 500));
      return app;
    }

    it("puts the verified claims on c.var.tessera", async () => {
      const res = await resourceServer().request("/api/me", bearer(userToken));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ sub: userId });
    });

    it("accepts options instead of a verifier", async () => {
      const auth = tesseraAuth({ issuer: ISSUER, audience: ISSUER, fetch: appFetch() });
      const res = await resourceServer(auth).request("/api/me", bearer(userToken));
      expect(res.status).toBe(200);
    });

    it.each([
      ["no Authorization header", {}],
      ["another scheme", { Authorization: "Basic dXNlcjpwYXNz" }],
      ["an empty Bearer", { Authorization: "Bearer " }],
    ])("answers %s with 401 and a bare challenge (RFC 6750 §3.1)", async (_, headers) => {
      const res = await resourceServer().request("/api/me", { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("WWW-Authenticate")).toBe("Bearer");
      expect((await res.json()) as object).toMatchObject({ error: "invalid_token" });
    });

    it("answers a bad token with 401 invalid_token and error=invalid_token", async () => {
      const expired = await serverToken({ exp: Math.floor(h.clock.now() / 1000) - 60 });
      for (const token of [expired, "not-a-jwt", "a b"]) {
        const res = await resourceServer().request("/api/me", {
          headers: { Authorization: `Bearer ${token}` },
        });
        expect(res.status).toBe(401);
        expect(res.headers.get("WWW-Authenticate")).toBe('Bearer error="invalid_token"');
        expect(res.headers.get("Cache-Control")).toBe("no-store");
        const body = (await res.json()) as { error: string; error_description: string };
        expect(body.error).toBe("invalid_token");
        expect(body.error_description).toEqual(expect.any(String));
      }
      const res = await resourceServer().request("/api/me", bearer(expired));
      expect(((await res.json()) as { error_description: string }).error_description).toBe(
        "The token has expired",
      );
    });

    it("answers 503 when the keys cannot be fetched, not 401", async () => {
      const down: FetchLike = async () => new Response("down", { status: 503 });
      const res = await resourceServer(tesseraAuth(verifierFor({ fetch: down }).verifier)).request(
        "/api/me",
        bearer(userToken),
      );
      expect(res.status).toBe(503);
      expect(res.headers.get("Retry-After")).toBeTruthy();
      expect(await res.json()).toMatchObject({ error: "temporarily_unavailable" });
    });

    it("requireScope: 403 insufficient_scope naming the scope; passes with every scope", async () => {
      const app = resourceServer();
      const none = await app.request("/api/orders", bearer(userToken));
      expect(none.status).toBe(403);
      expect(none.headers.get("WWW-Authenticate")).toBe(
        'Bearer error="insufficient_scope", scope="orders:read"',
      );
      expect(await none.json()).toMatchObject({ error: "insufficient_scope" });

      const reader = await serverToken({ scope: "profile orders:read" });
      expect((await app.request("/api/orders", bearer(reader))).status).toBe(200);
      const post = await app.request("/api/orders", bearer(reader, { method: "POST" }));
      expect(post.status).toBe(403);
      expect(post.headers.get("WWW-Authenticate")).toBe(
        'Bearer error="insufficient_scope", scope="orders:read orders:write"',
      );
      // A scope that merely contains the required one as a substring does not count.
      const lookalike = await serverToken({ scope: "orders:read-all orders:write" });
      expect((await app.request("/api/orders", bearer(lookalike))).status).toBe(403);
      const writer = await serverToken({ scope: "orders:write orders:read" });
      expect((await app.request("/api/orders", bearer(writer, { method: "POST" }))).status).toBe(
        200,
      );
    });

    it("requireScope fails closed without tesseraAuth and refuses bad scope names", async () => {
      const res = await resourceServer().request("/unguarded", bearer(userToken));
      expect(res.status).toBe(500);
      expect(await res.text()).toBe("requireScope must run after tesseraAuth");
      expect(() => requireScope()).toThrow(TypeError);
      expect(() => requireScope('a"b')).toThrow(TypeError);
      expect(() => requireScope("two words")).toThrow(TypeError);
    });
  });
}
