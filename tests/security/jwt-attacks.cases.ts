import {
  ACCESS_TOKEN_ALGORITHMS,
  createVerifier,
  TesseraVerifyError,
  type TesseraVerifyErrorCode,
  type Verifier,
} from "@tessera/verify";
import {
  base64url,
  CompactEncrypt,
  createLocalJWKSet,
  decodeJwt,
  exportJWK,
  exportSPKI,
  FlattenedSign,
  GeneralSign,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";
import { describe, expect, it, vi } from "vitest";
import { parseConfig, SIGNING_ALGS } from "../../src/config.ts";
import { signingKeys } from "../../src/db/schema.ts";
import { generateSecret } from "../../src/secrets/derive-keys.ts";
import { bearer, refresh, signup } from "../cases/helpers.ts";
import type { Harness, HarnessFactory } from "../harness/types.ts";

/**
 * RFC 8725 (JWT BCP) / RFC 9068 attacks on access tokens. Every attack token is crafted here
 * with jose and must be refused by Tessera's own endpoint (`GET /v1/me`: 401 `invalid_token`
 * with `WWW-Authenticate: Bearer error="invalid_token"`, never a 500) and by `tessera/verify`
 * (a `TesseraVerifyError` with the stated `code`).
 */

const ISSUER = "http://tessera.test";
const ATTACKER = "https://attacker.example";

const enc = (value: unknown) => base64url.encode(JSON.stringify(value));
const seconds = (h: Harness) => Math.floor(h.clock.now() / 1000);

type Header = Record<string, unknown>;

type Scene = {
  h: Harness;
  verifier: Verifier;
  /** Every URL the verifier fetched, whatever its origin. */
  fetched: string[];
  /** How many times the verifier fetched the JWKS. */
  jwksFetches(): number;
  /** The published keys (JWKS `keys`). */
  jwks: JWK[];
  kid: string;
  alg: string;
  /** A genuine access token and refresh token of a signed-up user. */
  token: string;
  refreshToken: string;
  /** The genuine token's claims, with `iat`/`exp` around the harness clock. */
  claims: JWTPayload;
  /** Signs `payload` with the server's current key: header `{alg, kid, typ: at+jwt, ...header}`. */
  serverSign(
    payload?: JWTPayload,
    header?: Header,
    crit?: Record<string, boolean>,
  ): Promise<string>;
};

/** A harness with ISSUER http://tessera.test, a verifier pointed at it, and a signed-up user. */
async function scene(createHarness: HarnessFactory, env: Record<string, string> = {}) {
  const h = await createHarness({ ISSUER, ...env });
  const fetched: string[] = [];
  const verifier = createVerifier({
    issuer: ISSUER,
    audience: ISSUER,
    clock: h.clock,
    fetch: async (url, init) => {
      fetched.push(url);
      const { origin, pathname, search } = new URL(url);
      // Anything but the issuer is recorded and answered like an unreachable host.
      if (origin !== ISSUER) return new Response("not here", { status: 404 });
      return h.request(`${pathname}${search}`, init);
    },
  });
  const { tokens } = await signup(h);
  const { kid, alg, privateKey } = await h.signingKey();
  const jwks = ((await (await h.request("/.well-known/jwks.json")).json()) as { keys: JWK[] }).keys;
  const claims = decodeJwt(tokens.access_token);
  const serverSign: Scene["serverSign"] = (payload = claims, header = {}, crit) =>
    new SignJWT(payload)
      .setProtectedHeader({ alg, kid, typ: "at+jwt", ...header })
      .sign(privateKey, crit ? { crit } : undefined);
  const s: Scene = {
    h,
    verifier,
    fetched,
    jwksFetches: () => fetched.filter((url) => url === `${ISSUER}/.well-known/jwks.json`).length,
    jwks,
    kid,
    alg,
    token: tokens.access_token,
    refreshToken: tokens.refresh_token,
    claims,
    serverSign,
  };
  // Control: the genuine token and a server-signed copy pass both checks, so every refusal
  // below comes from the one thing each attack changes.
  await expectAccepted(s, s.token, "genuine token");
  await expectAccepted(s, await serverSign(), "server-signed copy");
  return s;
}

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return "ok";
  } catch (error) {
    return error instanceof TesseraVerifyError ? error.code : `unexpected: ${String(error)}`;
  }
};

async function expectAccepted(s: Scene, token: string, label: string) {
  const res = await s.h.request("/v1/me", bearer(token));
  expect(res.status, `${label}: /v1/me`).toBe(200);
  expect(await codeOf(s.verifier.verify(token)), `${label}: tessera/verify`).toBe("ok");
}

/** Refused by both: 401 invalid_token with the error challenge, and the verifier's `code`. */
async function expectRefused(s: Scene, token: string, code: TesseraVerifyErrorCode, label: string) {
  const res = await s.h.request("/v1/me", bearer(token));
  expect(res.status, `${label}: /v1/me status`).toBe(401);
  expect(res.headers.get("WWW-Authenticate"), `${label}: challenge`).toBe(
    'Bearer error="invalid_token"',
  );
  expect(((await res.json()) as { error: string }).error, `${label}: error`).toBe("invalid_token");
  expect(await codeOf(s.verifier.verify(token)), `${label}: tessera/verify`).toBe(code);
}

/** No request ended in a 500 or an unhandled error; then closes the harness. */
async function finish(s: Scene) {
  const errors = s.h.logs.filter((line) => {
    const entry = JSON.parse(line) as { level: string; status?: number };
    return entry.level === "error" || (entry.status ?? 0) >= 500;
  });
  expect(errors).toEqual([]);
  await s.h.close();
}

export function jwtAttackCases(createHarness: HarnessFactory) {
  describe("JWT attack resistance (GET /v1/me and tessera/verify)", () => {
    it("refuses alg none / None / nOnE, unsigned, with and without a published kid", async () => {
      const s = await scene(createHarness);
      const body = enc(s.claims);
      for (const alg of ["none", "None", "nOnE", "NONE"]) {
        for (const header of [
          { alg, typ: "at+jwt" },
          { alg, typ: "at+jwt", kid: s.kid },
        ]) {
          const label = `${JSON.stringify(header)}`;
          await expectRefused(s, `${enc(header)}.${body}.`, "algorithm_not_allowed", label);
          // With the genuine signature left on, too.
          const sig = s.token.split(".")[2];
          await expectRefused(s, `${enc(header)}.${body}.${sig}`, "algorithm_not_allowed", label);
        }
      }
      await finish(s);
    });

    for (const alg of ["EdDSA", "RS256"] as const) {
      it(`refuses HS256 signed with the ${alg} public key (key confusion)`, async () => {
        const s = await scene(createHarness, { SIGNING_ALG: alg });
        const jwk = s.jwks.find((k) => k.kid === s.kid) as JWK;
        const text = new TextEncoder();
        const secrets: Record<string, Uint8Array> = {
          "JWK JSON": text.encode(JSON.stringify(jwk)),
        };
        if (alg === "EdDSA") {
          secrets["raw x"] = base64url.decode(jwk.x as string);
          secrets["x as text"] = text.encode(jwk.x as string);
        } else {
          const pem = await exportSPKI(
            (await importJWK(jwk, "RS256", { extractable: true })) as CryptoKey,
          );
          secrets["SPKI PEM"] = text.encode(pem);
          secrets["SPKI PEM without final newline"] = text.encode(pem.trimEnd());
          secrets["modulus n"] = base64url.decode(jwk.n as string);
        }
        for (const [name, secret] of Object.entries(secrets)) {
          for (const hs of ["HS256", "HS384", "HS512"]) {
            const token = await new SignJWT(s.claims)
              .setProtectedHeader({ alg: hs, kid: s.kid, typ: "at+jwt" })
              .sign(secret);
            await expectRefused(s, token, "algorithm_not_allowed", `${hs} with ${name}`);
          }
        }
        await finish(s);
      });
    }

    it("refuses an allowed alg that is not the published key's alg", async () => {
      const s = await scene(createHarness);
      expect(s.alg).toBe("EdDSA");
      for (const alg of ["ES256", "RS256"] as const) {
        const attacker = await generateKeyPair(alg);
        const token = await new SignJWT(s.claims)
          .setProtectedHeader({ alg, kid: s.kid, typ: "at+jwt" })
          .sign(attacker.privateKey);
        await expectRefused(s, token, "algorithm_not_allowed", `${alg} on the EdDSA kid`);
      }
      await finish(s);
    });

    it("refuses ES256 r = s = 0 (CVE-2022-21449) and r = s = n", async () => {
      const s = await scene(createHarness, { SIGNING_ALG: "ES256" });
      expect(s.alg).toBe("ES256");
      const head = enc({ alg: "ES256", kid: s.kid, typ: "at+jwt" });
      const body = enc({ ...s.claims, sub: "anyone" });
      const n = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";
      const nBytes = Uint8Array.from(n.match(/../g) as string[], (byte) =>
        Number.parseInt(byte, 16),
      );
      const signatures: Record<string, Uint8Array> = {
        "r = s = 0 (64 zero bytes)": new Uint8Array(64),
        "r = s = n": Uint8Array.from([...nBytes, ...nBytes]),
        "DER-encoded zeros": Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]),
      };
      for (const [name, sig] of Object.entries(signatures)) {
        await expectRefused(
          s,
          `${head}.${body}.${base64url.encode(sig)}`,
          "invalid_signature",
          name,
        );
      }
      // An empty signature as well.
      await expectRefused(s, `${head}.${body}.`, "invalid_signature", "empty signature");
      await finish(s);
    });

    it("refuses an embedded jwk header carrying the attacker's key", async () => {
      const s = await scene(createHarness);
      const attacker = await generateKeyPair("EdDSA", { extractable: true });
      const attackerJwk = await exportJWK(attacker.publicKey);
      for (const kid of [s.kid, "attacker-key", undefined]) {
        const token = await new SignJWT(s.claims)
          .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid, jwk: attackerJwk })
          .sign(attacker.privateKey);
        await expectRefused(s, token, "unsupported_header", `attacker-signed, kid ${kid}`);
      }
      // Even the server's own key embedded in a server-signed token: the header itself is
      // refused (RFC 8725 §3.10), not only the signature.
      const serverJwk = s.jwks.find((k) => k.kid === s.kid) as JWK;
      await expectRefused(
        s,
        await s.serverSign(undefined, { jwk: serverJwk }),
        "unsupported_header",
        "server-signed with jwk",
      );
      // x5c (an embedded certificate chain) is the same attack.
      await expectRefused(
        s,
        await s.serverSign(undefined, { x5c: ["MIIBszCCAVmgAwIBAgIUUfake"] }),
        "unsupported_header",
        "server-signed with x5c",
      );
      await finish(s);
    });

    it("refuses jku and x5u headers and never fetches them", async () => {
      const s = await scene(createHarness);
      const ownFetch = vi.spyOn(globalThis, "fetch");
      try {
        const attacker = await generateKeyPair("EdDSA", { extractable: true });
        const urls = {
          jku: `${ATTACKER}/jwks.json`,
          x5u: `${ATTACKER}/cert.pem`,
        } as const;
        for (const [name, url] of Object.entries(urls)) {
          for (const kid of [s.kid, "attacker-key"]) {
            const token = await new SignJWT(s.claims)
              .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid, [name]: url })
              .sign(attacker.privateKey);
            await expectRefused(s, token, "unsupported_header", `${name} attacker-signed, ${kid}`);
          }
          // Server-signed: the header alone is refusal.
          await expectRefused(
            s,
            await s.serverSign(undefined, { [name]: url }),
            "unsupported_header",
            `${name} server-signed`,
          );
        }
        // A pointer to the issuer's own JWKS is refused alike.
        await expectRefused(
          s,
          await s.serverSign(undefined, { jku: `${ISSUER}/.well-known/jwks.json` }),
          "unsupported_header",
          "jku at the issuer",
        );
        expect(s.fetched.filter((url) => !url.startsWith(`${ISSUER}/`))).toEqual([]);
        expect(s.jwksFetches()).toBe(1);
        // Tessera's own endpoint made no outbound request at all.
        expect(ownFetch).not.toHaveBeenCalled();
      } finally {
        ownFetch.mockRestore();
      }
      await finish(s);
    });

    it("refuses hostile kids (traversal, SQL, 8 KB, NUL/newline, non-strings) without a 500", async () => {
      const s = await scene(createHarness);
      const kids: Array<[unknown, TesseraVerifyErrorCode]> = [
        ["../../etc/passwd", "unknown_key"],
        ["../../../../../../dev/zero", "unknown_key"],
        ["' OR 1=1 --", "unknown_key"],
        [`${s.kid}' OR '1'='1`, "unknown_key"],
        ["k".repeat(8 * 1024), "unknown_key"],
        ["kid\u0000with-nul", "unknown_key"],
        [`${s.kid}\n`, "unknown_key"],
        ["line\r\nX-Injected: 1", "unknown_key"],
        ["__proto__", "unknown_key"],
        ["constructor", "unknown_key"],
        ["", "malformed_token"],
        [42, "malformed_token"],
        [{ $ne: null }, "malformed_token"],
        [[s.kid], "malformed_token"],
        [null, "malformed_token"],
      ];
      for (const [kid, code] of kids) {
        // Signed with the server's real key: a server that fell back to "some key" when the
        // kid is unknown would accept these.
        const token = await s.serverSign(undefined, { kid });
        await expectRefused(s, token, code, `kid ${JSON.stringify(kid).slice(0, 40)}`);
      }
      await finish(s);
    });

    it("a flood of 50 forged kids causes at most one extra JWKS fetch", async () => {
      const s = await scene(createHarness);
      expect(s.jwksFetches()).toBe(1);
      // Past the verifier's 30 s refetch cooldown, so one refetch is allowed.
      s.h.clock.advance(31_000);
      const forged = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          s.serverSign(undefined, { kid: `forged-${i}-${crypto.randomUUID()}` }),
        ),
      );
      const concurrent = await Promise.all(
        forged.slice(0, 25).map((token) => codeOf(s.verifier.verify(token))),
      );
      const sequential: string[] = [];
      for (const token of forged.slice(25)) sequential.push(await codeOf(s.verifier.verify(token)));
      expect(new Set([...concurrent, ...sequential])).toEqual(new Set(["unknown_key"]));
      expect(s.jwksFetches()).toBeLessThanOrEqual(2);
      // The own endpoint refuses every one of them, without an error.
      for (const token of forged.slice(0, 10)) {
        expect((await s.h.request("/v1/me", bearer(token))).status).toBe(401);
      }
      // The genuine token still verifies from the cache.
      const before = s.jwksFetches();
      expect(await codeOf(s.verifier.verify(await s.serverSign()))).toBe("ok");
      expect(s.jwksFetches()).toBe(before);
      await finish(s);
    });

    it("refuses crit with an unknown extension", async () => {
      const s = await scene(createHarness);
      const token = await s.serverSign(
        undefined,
        { crit: ["urn:example:must-understand"], "urn:example:must-understand": true },
        { "urn:example:must-understand": true },
      );
      await expectRefused(s, token, "unsupported_header", "crit unknown");
      // Even an extension jose understands (RFC 7797 b64, as a no-op): Tessera issues no
      // crit, and both verifiers refuse it alike.
      await expectRefused(
        s,
        await s.serverSign(undefined, { crit: ["b64"], b64: true }),
        "unsupported_header",
        "crit b64",
      );
      // A crit naming a parameter that is not even present.
      const head = enc({ alg: s.alg, kid: s.kid, typ: "at+jwt", crit: ["x-absent"] });
      await expectRefused(
        s,
        `${head}.${enc(s.claims)}.${s.token.split(".")[2]}`,
        "unsupported_header",
        "crit absent",
      );
      await finish(s);
    });

    it("refuses a server-signed token whose typ is not at+jwt (RFC 9068 §4)", async () => {
      const s = await scene(createHarness);
      for (const typ of ["JWT", "jwt", undefined, "application/jwt", "dpop+jwt", "at+jwt "]) {
        const token = await s.serverSign(undefined, { typ });
        await expectRefused(s, token, "invalid_typ", `typ ${String(typ)}`);
      }
      await finish(s);
    });

    it("refuses a server-signed token whose issuer differs by a trailing slash", async () => {
      const s = await scene(createHarness);
      expect(s.claims.iss).toBe(ISSUER);
      for (const iss of [`${ISSUER}/`, `${ISSUER}//`, "https://tessera.test"]) {
        const token = await s.serverSign({ ...s.claims, iss });
        await expectRefused(s, token, "invalid_issuer", `iss ${iss}`);
      }
      await finish(s);
    });

    it("refuses a server-signed token with a missing or foreign aud", async () => {
      const s = await scene(createHarness);
      const { aud: _aud, ...withoutAud } = s.claims;
      await expectRefused(s, await s.serverSign(withoutAud), "invalid_claims", "missing aud");
      const foreign: Array<string | string[]> = [
        "https://api.elsewhere.example",
        `${ISSUER}/`,
        ["https://api.elsewhere.example"],
        [],
      ];
      for (const aud of foreign) {
        const token = await s.serverSign({ ...s.claims, aud });
        await expectRefused(s, token, "invalid_audience", `aud ${JSON.stringify(aud)}`);
      }
      await finish(s);
    });

    it("refuses a server-signed token whose sub or jti is not a string (RFC 9068 §2.2)", async () => {
      const s = await scene(createHarness);
      const variants: Record<string, JWTPayload> = {
        "numeric sub": { ...s.claims, sub: 12345 as unknown as string },
        "array sub": { ...s.claims, sub: [s.claims.sub] as unknown as string },
        "numeric jti": { ...s.claims, jti: 7 as unknown as string },
        "object jti": { ...s.claims, jti: { id: s.claims.jti } as unknown as string },
      };
      for (const [name, payload] of Object.entries(variants)) {
        await expectRefused(s, await s.serverSign(payload), "invalid_claims", name);
      }
      await finish(s);
    });

    it("refuses exp missing, non-numeric, or past the skew (5 s own, 30 s verifier)", async () => {
      const s = await scene(createHarness);
      const { exp: _exp, ...withoutExp } = s.claims;
      const now = seconds(s.h);
      const variants: Record<string, JWTPayload> = {
        "missing exp": withoutExp,
        "exp as a word": { ...s.claims, exp: "tomorrow" as unknown as number },
        "exp as a numeric string": { ...s.claims, exp: String(now + 600) as unknown as number },
        "exp null": { ...s.claims, exp: null as unknown as number },
      };
      for (const [name, payload] of Object.entries(variants)) {
        await expectRefused(s, await s.serverSign(payload), "invalid_claims", name);
      }
      // A token valid for 60 s more, then the injected clock moves (no sleeping).
      const token = await s.serverSign({ ...s.claims, iat: now, exp: now + 60 });
      s.h.clock.set(now * 1000);
      s.h.clock.advance((60 + 4) * 1000);
      await expectAccepted(s, token, "4 s past exp");
      s.h.clock.advance(2_000);
      // 6 s past: beyond the own endpoints' 5 s, within the verifier's 30 s.
      expect((await s.h.request("/v1/me", bearer(token))).status).toBe(401);
      expect(await codeOf(s.verifier.verify(token))).toBe("ok");
      s.h.clock.advance(25_000);
      // 31 s past: refused by both.
      await expectRefused(s, token, "token_expired", "31 s past exp");
      await finish(s);
    });

    it("refuses nbf in the future (beyond 5 s own, 30 s verifier)", async () => {
      const s = await scene(createHarness);
      const now = seconds(s.h);
      s.h.clock.set(now * 1000);
      await expectRefused(
        s,
        await s.serverSign({ ...s.claims, nbf: now + 3600 }),
        "token_not_yet_valid",
        "nbf in an hour",
      );
      await expectRefused(
        s,
        await s.serverSign({ ...s.claims, nbf: now + 31 }),
        "token_not_yet_valid",
        "nbf in 31 s",
      );
      // Between the two tolerances: the own endpoint refuses, the verifier accepts.
      const soon = await s.serverSign({ ...s.claims, nbf: now + 6 });
      expect((await s.h.request("/v1/me", bearer(soon))).status).toBe(401);
      expect(await codeOf(s.verifier.verify(soon))).toBe("ok");
      await expectAccepted(s, await s.serverSign({ ...s.claims, nbf: now + 4 }), "nbf in 4 s");
      await finish(s);
    });

    it("refuses a refresh token sent as a bearer token", async () => {
      const s = await scene(createHarness);
      await expectRefused(s, s.refreshToken, "malformed_token", "refresh token");
      // The attempt neither used nor revoked it.
      expect((await refresh(s.h, s.refreshToken)).status).toBe(200);
      await finish(s);
    });

    it("refuses extra segments, JWS JSON serialization and JWE-shaped tokens", async () => {
      const s = await scene(createHarness);
      const { privateKey } = await s.h.signingKey();
      const [head, body, sig] = s.token.split(".") as [string, string, string];
      const payload = new TextEncoder().encode(JSON.stringify(s.claims));
      const protectedHeader = { alg: s.alg, kid: s.kid, typ: "at+jwt" };
      const flattened = await new FlattenedSign(payload)
        .setProtectedHeader(protectedHeader)
        .sign(privateKey);
      const general = await new GeneralSign(payload)
        .addSignature(privateKey)
        .setProtectedHeader(protectedHeader)
        .sign();
      const jwe = await new CompactEncrypt(payload)
        .setProtectedHeader({ alg: "dir", enc: "A256GCM", kid: s.kid, typ: "at+jwt" })
        .encrypt(crypto.getRandomValues(new Uint8Array(32)));
      const attacks: Record<string, string> = {
        "a.b.c.d": `${head}.${body}.${sig}.${sig}`,
        "trailing dot": `${s.token}.`,
        "leading dot": `.${s.token}`,
        "two segments": `${head}.${body}`,
        "real compact JWE": jwe,
        "JWE-looking 5 segments": `${head}..${body}.${sig}.${sig.slice(0, 22)}`,
      };
      for (const [name, token] of Object.entries(attacks)) {
        await expectRefused(s, token, "malformed_token", name);
      }
      // JWS JSON serialization (RFC 7515 §7.2), correctly signed by the server's key: never a
      // JWT (RFC 7519 §7.2 requires the compact form). The challenge is checked separately
      // below.
      for (const [name, token] of Object.entries({
        "flattened JSON": JSON.stringify(flattened),
        "general JSON": JSON.stringify(general),
      })) {
        const res = await s.h.request("/v1/me", bearer(token));
        expect(res.status, name).toBe(401);
        expect(((await res.json()) as { error: string }).error, name).toBe("invalid_token");
        expect(await codeOf(s.verifier.verify(token)), name).toBe("malformed_token");
      }
      await finish(s);
    });

    // Regression: `Authorization: Bearer <non-b64token>` was answered as if no credentials
    // were sent (bare `WWW-Authenticate: Bearer`); tesseraAuth answers error="invalid_token".
    it('answers a JWS JSON serialization with error="invalid_token"', async () => {
      const s = await scene(createHarness);
      const { privateKey } = await s.h.signingKey();
      const flattened = await new FlattenedSign(new TextEncoder().encode(JSON.stringify(s.claims)))
        .setProtectedHeader({ alg: s.alg, kid: s.kid, typ: "at+jwt" })
        .sign(privateKey);
      const res = await s.h.request("/v1/me", bearer(JSON.stringify(flattened)));
      await s.h.close();
      expect(res.headers.get("WWW-Authenticate")).toBe('Bearer error="invalid_token"');
    });

    it("keeps one algorithm allow-list (@tessera/verify ACCESS_TOKEN_ALGORITHMS) for both verifiers", async () => {
      // The own endpoints' list is the verifier's list, the very same array.
      expect(SIGNING_ALGS).toBe(ACCESS_TOKEN_ALGORITHMS);
      expect([...ACCESS_TOKEN_ALGORITHMS]).toEqual(["EdDSA", "ES256", "RS256"]);
      expect(() =>
        createVerifier({ issuer: ISSUER, audience: ISSUER, algorithms: ["ES384" as "ES256"] }),
      ).toThrow(TypeError);
      expect(() => parseConfig({ TESSERA_SECRET: generateSecret(), SIGNING_ALG: "ES384" })).toThrow(
        /SIGNING_ALG/,
      );

      const s = await scene(createHarness);
      // Publish an ES384 key (as another process with database access could): a token it
      // signs is well-formed and verifies with the published key, so only the allow-list
      // can refuse it.
      const es384 = await generateKeyPair("ES384", { extractable: true });
      const kid = "es384-outside-the-allow-list";
      const publicJwk = { ...(await exportJWK(es384.publicKey)), kid, alg: "ES384", use: "sig" };
      const at = s.h.clock.now();
      await s.h.db.insert(signingKeys).values({
        kid,
        alg: "ES384",
        status: "previous",
        publicJwk: JSON.stringify(publicJwk),
        privateJwkJwe: "unused",
        createdAt: at,
        activatedAt: at,
        deactivatedAt: at,
      });
      // Past the instance key cache (≤ 60 s), so the key store publishes it.
      s.h.clock.advance(61_000);
      const jwks = (await (await s.h.request("/.well-known/jwks.json")).json()) as {
        keys: JWK[];
      };
      expect(jwks.keys.map((k) => k.kid)).toContain(kid);
      const now = seconds(s.h);
      const token = await new SignJWT({ ...s.claims, iat: now, exp: now + 600 })
        .setProtectedHeader({ alg: "ES384", kid, typ: "at+jwt" })
        .sign(es384.privateKey);
      // Control: plain jose with ES384 allowed accepts it against the published JWKS.
      await jwtVerify(token, createLocalJWKSet(jwks as { keys: JWK[] }), {
        issuer: ISSUER,
        audience: ISSUER,
        algorithms: ["ES384"],
        typ: "at+jwt",
        currentDate: new Date(s.h.clock.now()),
      });
      await expectRefused(s, token, "algorithm_not_allowed", "ES384");
      await finish(s);
    });
  });
}
