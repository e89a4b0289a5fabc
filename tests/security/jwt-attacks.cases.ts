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
import { randomSecret } from "../../src/lib/random-id.ts";
import { bearer, refresh, signup } from "../cases/helpers.ts";
import { openHarness } from "../harness/open.ts";
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

/**
 * A harness with ISSUER http://tessera.test, a verifier pointed at it, and a signed-up user.
 * The harness closes when the test finishes, passed or failed.
 */
async function scene(createHarness: HarnessFactory, env: Record<string, string> = {}) {
  const h = await openHarness(createHarness, { ISSUER, ...env });
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

/** No request ended in a 500 or an unhandled error. */
function finish(s: Scene) {
  const errors = s.h.logs.filter((line) => {
    const entry = JSON.parse(line) as { level: string; status?: number };
    return entry.level === "error" || (entry.status ?? 0) >= 500;
  });
  expect(errors).toEqual([]);
}

/** A token the table sends to both verifiers, and what each must answer. */
type Attack = {
  name: string;
  /** How the token is made from the scene (the genuine token, its claims, the server's key). */
  make(s: Scene): string | Promise<string>;
  /** The `TesseraVerifyError` code tessera/verify refuses it with; `accepted` for controls. */
  code: TesseraVerifyErrorCode | "accepted";
};

/** The genuine claims with `changes` applied; an `undefined` value drops the claim. */
function claimsWith(s: Scene, changes: Record<string, unknown>): JWTPayload {
  const payload: Record<string, unknown> = { ...s.claims, ...changes };
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete payload[name];
  }
  return payload;
}

/** Signed with the server's own key: only the changed claims can make it fail. */
const serverSigned =
  (changes: Record<string, unknown>) =>
  (s: Scene): Promise<string> =>
    s.serverSign(claimsWith(s, changes));

/** `{alg, kid, typ: at+jwt}` of the server's key with `header` applied, signed by the server. */
const serverHeader =
  (header: Header, crit?: Record<string, boolean>) =>
  (s: Scene): Promise<string> =>
    s.serverSign(undefined, header, crit);

/** The genuine token's signature on another header and/or payload. */
const spliced = (s: Scene, header?: Header, payload?: JWTPayload) => {
  const [head, body, sig] = s.token.split(".") as [string, string, string];
  return `${header ? enc(header) : head}.${payload ? enc(payload) : body}.${sig}`;
};

/**
 * Signed by a key pair of the attacker's own (never published). In `header`, `undefined` drops
 * a member and the value `"attacker"` stands for the attacker's public JWK.
 */
async function attackerSigned(s: Scene, alg: "EdDSA" | "ES256" | "RS256", header: Header) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const protectedHeader = { alg, typ: "at+jwt", ...header };
  for (const [name, value] of Object.entries(protectedHeader)) {
    if (value === undefined) delete (protectedHeader as Header)[name];
    if (value === "attacker") (protectedHeader as Header)[name] = jwk;
  }
  return new SignJWT(s.claims).setProtectedHeader(protectedHeader).sign(privateKey);
}

/** The server's published public key, as an HMAC secret (RFC 8725 §2.1 key confusion). */
const hmacWithPublicKey = (hs: string, secret: (jwk: JWK) => Uint8Array) => (s: Scene) => {
  const jwk = s.jwks.find((k) => k.kid === s.kid) as JWK;
  return new SignJWT(s.claims)
    .setProtectedHeader({ alg: hs, kid: s.kid, typ: "at+jwt" })
    .sign(secret(jwk));
};

const text = (value: string) => new TextEncoder().encode(value);
const now = (s: Scene) => seconds(s.h);

/**
 * Every attack token, sent to `GET /v1/me` and to tessera/verify by one test: both must refuse
 * it (the endpoint with 401 `invalid_token` and `WWW-Authenticate: Bearer error="invalid_token"`,
 * the SDK with `code`). The scene's clock does not move, and both verifiers read it; times are
 * beyond both tolerances (5 s own endpoints, 30 s verifier). Tolerance edges, fetch counts and
 * other scenes (RS256, ES256 keys) have their own tests below.
 */
const ATTACKS: Attack[] = [
  // Controls: the genuine token, and a copy the server's key signs again (new jti).
  { name: "control: genuine token", make: (s) => s.token, code: "accepted" },
  {
    name: "control: server-signed copy",
    make: (s) => s.serverSign(claimsWith(s, { jti: crypto.randomUUID() })),
    code: "accepted",
  },

  // alg none in any casing, unsigned or with the genuine signature left on (RFC 8725 §3.1).
  ...["none", "None", "nOnE", "NONE"].flatMap((alg) =>
    [false, true].flatMap((withKid) =>
      [false, true].map(
        (withSignature): Attack => ({
          name: `alg ${alg}${withKid ? " with the server's kid" : ""}${withSignature ? ", genuine signature kept" : ", unsigned"}`,
          make: (s) => {
            const header = withKid ? { alg, typ: "at+jwt", kid: s.kid } : { alg, typ: "at+jwt" };
            const unsigned = `${enc(header)}.${enc(s.claims)}.`;
            return withSignature ? `${unsigned}${s.token.split(".")[2]}` : unsigned;
          },
          code: "algorithm_not_allowed",
        }),
      ),
    ),
  ),

  // HS* signed with the published EdDSA key as the secret (key confusion).
  ...["HS256", "HS384", "HS512"].flatMap((hs): Attack[] => [
    {
      name: `${hs} with the JWK JSON as secret`,
      make: hmacWithPublicKey(hs, (jwk) => text(JSON.stringify(jwk))),
      code: "algorithm_not_allowed",
    },
    {
      name: `${hs} with the raw x as secret`,
      make: hmacWithPublicKey(hs, (jwk) => base64url.decode(jwk.x as string)),
      code: "algorithm_not_allowed",
    },
    {
      name: `${hs} with x as text as secret`,
      make: hmacWithPublicKey(hs, (jwk) => text(jwk.x as string)),
      code: "algorithm_not_allowed",
    },
  ]),

  // An allowed alg that is not the published key's (EdDSA) alg, under its kid.
  ...(["ES256", "RS256"] as const).map(
    (alg): Attack => ({
      name: `${alg} by an attacker on the EdDSA kid`,
      make: (s) => attackerSigned(s, alg, { kid: s.kid }),
      code: "algorithm_not_allowed",
    }),
  ),

  // Key-carrying and key-pointing headers (RFC 8725 §3.10): their presence is refusal.
  {
    name: "jwk with the attacker's key, server's kid",
    make: (s) => attackerSigned(s, "EdDSA", { kid: s.kid, jwk: "attacker" }),
    code: "unsupported_header",
  },
  {
    name: "jwk with the attacker's key, attacker's kid",
    make: (s) => attackerSigned(s, "EdDSA", { kid: "attacker-key", jwk: "attacker" }),
    code: "unsupported_header",
  },
  {
    name: "jwk with the attacker's key, no kid",
    make: (s) => attackerSigned(s, "EdDSA", { jwk: "attacker" }),
    code: "unsupported_header",
  },
  {
    name: "jwk with the server's own key, server-signed",
    make: (s) => s.serverSign(undefined, { jwk: s.jwks.find((k) => k.kid === s.kid) }),
    code: "unsupported_header",
  },
  {
    name: "x5c, server-signed",
    make: serverHeader({ x5c: ["MIIBszCCAVmgAwIBAgIUUfake"] }),
    code: "unsupported_header",
  },
  ...(["jku", "x5u"] as const).flatMap((name): Attack[] => {
    const url = `${ATTACKER}/${name === "jku" ? "jwks.json" : "cert.pem"}`;
    return [
      {
        name: `${name} at the attacker, attacker-signed`,
        make: (s) => attackerSigned(s, "EdDSA", { kid: "attacker-key", [name]: url }),
        code: "unsupported_header",
      },
      {
        name: `${name} at the attacker, server-signed`,
        make: serverHeader({ [name]: url }),
        code: "unsupported_header",
      },
    ];
  }),
  {
    name: "jku at the issuer's own JWKS, server-signed",
    make: serverHeader({ jku: `${ISSUER}/.well-known/jwks.json` }),
    code: "unsupported_header",
  },

  // crit (RFC 7515 §4.1.11): Tessera issues none, so every one is refused, even b64, which
  // jose understands.
  {
    name: "crit with an unknown extension",
    make: serverHeader(
      { crit: ["urn:example:must-understand"], "urn:example:must-understand": true },
      { "urn:example:must-understand": true },
    ),
    code: "unsupported_header",
  },
  {
    name: "crit b64",
    make: serverHeader({ crit: ["b64"], b64: true }),
    code: "unsupported_header",
  },
  {
    name: "crit naming an absent parameter",
    make: (s) => spliced(s, { alg: s.alg, kid: s.kid, typ: "at+jwt", crit: ["x-absent"] }),
    code: "unsupported_header",
  },

  // typ must be at+jwt (RFC 9068 §4).
  ...["JWT", "jwt", undefined, "application/jwt", "dpop+jwt", "at+jwt "].map(
    (typ): Attack => ({
      name: `typ ${JSON.stringify(typ) ?? "missing"}`,
      make: serverHeader({ typ }),
      code: "invalid_typ",
    }),
  ),

  // Issuer: exact string match.
  ...[`${ISSUER}/`, `${ISSUER}//`, "https://tessera.test"].map(
    (iss): Attack => ({ name: `iss ${iss}`, make: serverSigned({ iss }), code: "invalid_issuer" }),
  ),
  { name: "iss missing", make: serverSigned({ iss: undefined }), code: "invalid_claims" },

  // Audience: missing, or not containing the issuer.
  { name: "aud missing", make: serverSigned({ aud: undefined }), code: "invalid_claims" },
  ...["https://api.elsewhere.example", `${ISSUER}/`, ["https://api.elsewhere.example"], []].map(
    (aud): Attack => ({
      name: `aud ${JSON.stringify(aud)}`,
      make: serverSigned({ aud }),
      code: "invalid_audience",
    }),
  ),

  // sub, jti, client_id: present, strings, not empty (RFC 9068 §2.2, RFC 7519 §4.1).
  ...(["sub", "jti", "client_id"] as const).flatMap((claim): Attack[] =>
    (
      [
        ["missing", undefined],
        ["a number", 12345],
        ["an array", ["first-party"]],
        ["an object", { id: "x" }],
        ["null", null],
        ["the empty string", ""],
      ] as const
    ).map(([what, value]) => ({
      name: `${claim} ${what}`,
      make: serverSigned({ [claim]: value }),
      code: "invalid_claims",
    })),
  ),
  // sid and scope are optional, but strings when present.
  { name: "sid a number", make: serverSigned({ sid: 7 }), code: "invalid_claims" },
  {
    name: "sid an array",
    make: (s) => serverSigned({ sid: [s.claims.sid] })(s),
    code: "invalid_claims",
  },
  { name: "scope an array", make: serverSigned({ scope: ["read"] }), code: "invalid_claims" },
  { name: "scope a number", make: serverSigned({ scope: 1 }), code: "invalid_claims" },

  // exp: present, numeric, not past beyond either tolerance.
  { name: "exp missing", make: serverSigned({ exp: undefined }), code: "invalid_claims" },
  { name: "exp a word", make: serverSigned({ exp: "tomorrow" }), code: "invalid_claims" },
  {
    name: "exp a numeric string",
    make: (s) => serverSigned({ exp: String(now(s) + 600) })(s),
    code: "invalid_claims",
  },
  { name: "exp null", make: serverSigned({ exp: null }), code: "invalid_claims" },
  {
    name: "exp 60 s past",
    make: (s) => serverSigned({ iat: now(s) - 960, exp: now(s) - 60 })(s),
    code: "token_expired",
  },
  {
    name: "exp a day past",
    make: (s) => serverSigned({ iat: now(s) - 86_400 - 900, exp: now(s) - 86_400 })(s),
    code: "token_expired",
  },

  // nbf and iat in the future, beyond both tolerances: not a token the issuer signed yet.
  {
    name: "nbf 120 s ahead",
    make: (s) => serverSigned({ nbf: now(s) + 120 })(s),
    code: "token_not_yet_valid",
  },
  {
    name: "nbf an hour ahead",
    make: (s) => serverSigned({ nbf: now(s) + 3600 })(s),
    code: "token_not_yet_valid",
  },
  {
    name: "iat 120 s ahead",
    make: (s) => serverSigned({ iat: now(s) + 120, exp: now(s) + 1020 })(s),
    code: "token_not_yet_valid",
  },
  {
    name: "iat a day ahead",
    make: (s) => serverSigned({ iat: now(s) + 86_400, exp: now(s) + 86_400 + 900 })(s),
    code: "token_not_yet_valid",
  },
  { name: "iat missing", make: serverSigned({ iat: undefined }), code: "invalid_claims" },
  { name: "iat a word", make: serverSigned({ iat: "yesterday" }), code: "invalid_claims" },

  // Tampering: the genuine signature no longer matches.
  {
    name: "payload tampered (another sub)",
    make: (s) => spliced(s, undefined, claimsWith(s, { sub: "someone-else" })),
    code: "invalid_signature",
  },
  {
    name: "payload tampered (scope added)",
    make: (s) => spliced(s, undefined, claimsWith(s, { scope: "admin" })),
    code: "invalid_signature",
  },
  {
    name: "header tampered (extra member)",
    make: (s) => spliced(s, { alg: s.alg, kid: s.kid, typ: "at+jwt", x: 1 }),
    code: "invalid_signature",
  },
  {
    name: "signature tampered (one bit)",
    make: (s) => {
      const [head, body, sig] = s.token.split(".") as [string, string, string];
      const bytes = base64url.decode(sig);
      bytes[10] = (bytes[10] as number) ^ 1;
      return `${head}.${body}.${base64url.encode(bytes)}`;
    },
    code: "invalid_signature",
  },
  {
    name: "signature removed",
    make: (s) => `${s.token.split(".").slice(0, 2).join(".")}.`,
    code: "invalid_signature",
  },
  {
    name: "signature of another token",
    make: async (s) => {
      const [, , otherSig] = (await s.serverSign(claimsWith(s, { jti: "other" }))).split(".");
      return `${s.token.split(".").slice(0, 2).join(".")}.${otherSig}`;
    },
    code: "invalid_signature",
  },

  // Not a compact JWS of three segments (RFC 7519 §7.2).
  {
    name: "four segments",
    make: (s) => `${s.token}.${s.token.split(".")[2]}`,
    code: "malformed_token",
  },
  { name: "trailing dot", make: (s) => `${s.token}.`, code: "malformed_token" },
  { name: "leading dot", make: (s) => `.${s.token}`, code: "malformed_token" },
  {
    name: "two segments",
    make: (s) => s.token.split(".").slice(0, 2).join("."),
    code: "malformed_token",
  },
  { name: "one segment", make: () => "not-a-jwt", code: "malformed_token" },
  { name: "garbage segments", make: () => "a.b.c", code: "malformed_token" },
  {
    name: "header not JSON",
    make: (s) => `${base64url.encode("{alg")}.${s.token.split(".").slice(1).join(".")}`,
    code: "malformed_token",
  },
  { name: "kid missing", make: serverHeader({ kid: undefined }), code: "malformed_token" },
  {
    name: "JWE-looking 5 segments",
    make: (s) => {
      const [head, body, sig] = s.token.split(".") as [string, string, string];
      return `${head}..${body}.${sig}.${sig.slice(0, 22)}`;
    },
    code: "malformed_token",
  },
  {
    name: "real compact JWE",
    make: (s) =>
      new CompactEncrypt(text(JSON.stringify(s.claims)))
        .setProtectedHeader({ alg: "dir", enc: "A256GCM", kid: s.kid, typ: "at+jwt" })
        .encrypt(crypto.getRandomValues(new Uint8Array(32))),
    code: "malformed_token",
  },
  // JWS JSON serialization (RFC 7515 §7.2), correctly signed by the server's key: never a
  // JWT. Regression: `Bearer <non-b64token>` was answered as if no credentials were sent (a
  // bare `WWW-Authenticate: Bearer`); it is an invalid token, as tesseraAuth answers.
  {
    name: "JWS JSON, flattened",
    make: async (s) => {
      const { privateKey } = await s.h.signingKey();
      const jws = await new FlattenedSign(text(JSON.stringify(s.claims)))
        .setProtectedHeader({ alg: s.alg, kid: s.kid, typ: "at+jwt" })
        .sign(privateKey);
      return JSON.stringify(jws);
    },
    code: "malformed_token",
  },
  {
    name: "JWS JSON, general",
    make: async (s) => {
      const { privateKey } = await s.h.signingKey();
      const jws = await new GeneralSign(text(JSON.stringify(s.claims)))
        .addSignature(privateKey)
        .setProtectedHeader({ alg: s.alg, kid: s.kid, typ: "at+jwt" })
        .sign();
      return JSON.stringify(jws);
    },
    code: "malformed_token",
  },
];

/**
 * What `GET /v1/me` answers: `accepted` (200), `invalid_token` (401 with the error challenge,
 * refused by token verification itself), or a description of anything else.
 */
async function ownEndpointAnswer(s: Scene, token: string, refusal: string): Promise<string> {
  const logged = s.h.logs.length;
  const res = await s.h.request("/v1/me", bearer(token));
  if (res.status === 200) return "accepted";
  // The reason the server logged for its refusal: the SDK's code for the same token.
  const reason = s.h.logs
    .slice(logged)
    .map((line) => JSON.parse(line) as { event?: string; reason?: string })
    .find((entry) => entry.event === "access_token_refused")?.reason;
  const challenge = res.headers.get("WWW-Authenticate");
  const body = (await res.json()) as { error?: string; error_description?: string };
  const answer = `${res.status} ${body.error} (${challenge}): ${body.error_description}`;
  // The same description as a token with a broken signature: the token itself was refused,
  // not a later step (an empty `sub` that passed verification is refused by the user lookup,
  // which hides the gap).
  const refused =
    res.status === 401 &&
    challenge === 'Bearer error="invalid_token"' &&
    body.error === "invalid_token" &&
    body.error_description === refusal;
  return refused ? `invalid_token (${reason})` : answer;
}

export function jwtAttackCases(createHarness: HarnessFactory) {
  describe("JWT attack resistance (GET /v1/me and tessera/verify)", () => {
    it("every attack token of the table: both verifiers refuse it alike", async () => {
      const s = await scene(createHarness);
      // How the own endpoint refuses a token whose signature does not match.
      const tampered = spliced(s, undefined, claimsWith(s, { sub: "someone-else" }));
      const broken = await s.h.request("/v1/me", bearer(tampered));
      const refusal = ((await broken.json()) as { error_description: string }).error_description;
      const expected: Array<{ name: string; own: string; sdk: string }> = [];
      const actual: typeof expected = [];
      for (const attack of ATTACKS) {
        const token = await attack.make(s);
        const sdk = await codeOf(s.verifier.verify(token));
        actual.push({
          name: attack.name,
          own: await ownEndpointAnswer(s, token, refusal),
          sdk: sdk === "ok" ? "accepted" : sdk,
        });
        expected.push({
          name: attack.name,
          own: attack.code === "accepted" ? "accepted" : `invalid_token (${attack.code})`,
          sdk: attack.code,
        });
      }
      // One comparison, so a failure lists every row where either verifier disagrees.
      expect(actual).toEqual(expected);
      finish(s);
    });

    // The EdDSA key's forms are rows of the table; an RSA key has more (PEM, modulus).
    it("refuses HS256 signed with the RS256 public key (key confusion)", async () => {
      const alg = "RS256";
      const s = await scene(createHarness, { SIGNING_ALG: alg });
      const jwk = s.jwks.find((k) => k.kid === s.kid) as JWK;
      const secrets: Record<string, Uint8Array> = { "JWK JSON": text(JSON.stringify(jwk)) };
      const pem = await exportSPKI((await importJWK(jwk, alg, { extractable: true })) as CryptoKey);
      secrets["SPKI PEM"] = text(pem);
      secrets["SPKI PEM without final newline"] = text(pem.trimEnd());
      secrets["modulus n"] = base64url.decode(jwk.n as string);
      for (const [name, secret] of Object.entries(secrets)) {
        for (const hs of ["HS256", "HS384", "HS512"]) {
          const token = await new SignJWT(s.claims)
            .setProtectedHeader({ alg: hs, kid: s.kid, typ: "at+jwt" })
            .sign(secret);
          await expectRefused(s, token, "algorithm_not_allowed", `${hs} with ${name}`);
        }
      }
      finish(s);
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
      finish(s);
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
      finish(s);
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
      finish(s);
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
      finish(s);
    });

    it("exp: 5 s of skew on the own endpoints, 30 s in the verifier", async () => {
      const s = await scene(createHarness);
      const now = seconds(s.h);
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
      finish(s);
    });

    it("nbf: 5 s of skew on the own endpoints, 30 s in the verifier", async () => {
      const s = await scene(createHarness);
      const now = seconds(s.h);
      s.h.clock.set(now * 1000);
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
      finish(s);
    });

    it("refuses a refresh token sent as a bearer token", async () => {
      const s = await scene(createHarness);
      await expectRefused(s, s.refreshToken, "malformed_token", "refresh token");
      // The attempt neither used nor revoked it.
      expect((await refresh(s.h, s.refreshToken)).status).toBe(200);
      finish(s);
    });

    it("keeps one algorithm allow-list (@tessera/verify ACCESS_TOKEN_ALGORITHMS) for both verifiers", async () => {
      // The own endpoints' list is the verifier's list, the very same array.
      expect(SIGNING_ALGS).toBe(ACCESS_TOKEN_ALGORITHMS);
      expect([...ACCESS_TOKEN_ALGORITHMS]).toEqual(["EdDSA", "ES256", "RS256"]);
      expect(() =>
        createVerifier({ issuer: ISSUER, audience: ISSUER, algorithms: ["ES384" as "ES256"] }),
      ).toThrow(TypeError);
      expect(() => parseConfig({ TESSERA_SECRET: randomSecret(), SIGNING_ALG: "ES384" })).toThrow(
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
      finish(s);
    });
  });
}
