import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UpstreamTokenInvalid } from "../errors.ts";
import { appleClientSecret } from "./apple-client-secret.ts";
import { clearDiscoveryCache } from "./authorization-server.ts";
import { callbackUrl, matchIssuer, type UpstreamProvider } from "./provider.ts";
import { verifyUpstreamIdToken } from "./verify-upstream-id-token.ts";

/**
 * A real OpenID Provider shape on a loopback port: discovery documents for a plain issuer,
 * a Microsoft-like multi-tenant issuer (`{tenantid}` template), and Apple's fixed `/auth/keys`.
 */
describe("verifyUpstreamIdToken against a provider on a loopback port", () => {
  let server: Server;
  let base: string;
  let key: CryptoKey;
  let otherKey: CryptoKey;
  const KID = "k1";

  beforeAll(async () => {
    const pair = await generateKeyPair("RS256", { extractable: true });
    key = pair.privateKey;
    otherKey = (await generateKeyPair("RS256")).privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: "RS256", use: "sig" };
    server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", base).pathname;
      const json = (body: unknown) => {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (path.endsWith("/jwks") || path === "/apple/auth/keys") return json({ keys: [jwk] });
      const discovery = /^(.*)\/\.well-known\/openid-configuration$/.exec(path);
      if (discovery) {
        const prefix = discovery[1] as string;
        // Microsoft's multi-tenant document names the template, not `/common/`.
        const issuer = prefix.endsWith("/common/v2.0")
          ? `${base}${prefix.replace("/common/", "/{tenantid}/")}`
          : `${base}${prefix}`;
        return json({
          issuer,
          authorization_endpoint: `${base}${prefix}/authorize`,
          token_endpoint: `${base}${prefix}/token`,
          jwks_uri: `${base}${prefix}/jwks`,
          response_types_supported: ["code"],
          subject_types_supported: ["public"],
          id_token_signing_alg_values_supported: ["RS256"],
        });
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    clearDiscoveryCache();
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const NOW = Date.now();
  const provider = (over: Partial<UpstreamProvider>): UpstreamProvider => ({
    name: "acme",
    kind: "oidc",
    displayName: "Acme",
    issuer: `${base}/acme`,
    clientIds: ["web-client", "ios-client"],
    scopes: ["openid", "email"],
    apiUrl: null,
    tenant: null,
    teamId: null,
    keyId: null,
    browserLeg: true,
    createdAt: NOW,
    ...over,
  });

  const sign = (claims: JWTPayload, options: { key?: CryptoKey; kid?: string } = {}) =>
    new SignJWT({
      iss: `${base}/acme`,
      sub: "user-1",
      aud: "web-client",
      iat: Math.floor(NOW / 1000),
      exp: Math.floor(NOW / 1000) + 600,
      nonce: "raw-nonce",
      email: "Ada@Example.com",
      email_verified: true,
      name: "Ada Lovelace",
      ...claims,
    })
      .setProtectedHeader({ alg: "RS256", kid: options.kid ?? KID })
      .sign(options.key ?? key);

  const verify = (p: UpstreamProvider, token: string, nonce = "raw-nonce", now = NOW) =>
    verifyUpstreamIdToken(p, token, { nonce, nonceForm: "raw-or-sha256", now });

  const reason = async (promise: Promise<unknown>) => {
    const error = await promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamTokenInvalid);
    return (error as UpstreamTokenInvalid).reason;
  };

  it("accepts a good token: profile, expiry and its nonce claim", async () => {
    const result = await verify(provider({}), await sign({}));
    expect(result).toEqual({
      subject: "user-1",
      email: "ada@example.com",
      emailVerified: true,
      name: "Ada Lovelace",
      acceptedUntil: (Math.floor(NOW / 1000) + 600 + 60) * 1000,
      nonce: "raw-nonce",
    });
    // Any of the provider's client ids is a valid audience (an iOS app next to the web client).
    expect((await verify(provider({}), await sign({ aud: "ios-client" }))).subject).toBe("user-1");
  });

  it("takes the nonce raw or as its lowercase SHA-256 hex (Apple's iOS SDK), exactly in the browser leg", async () => {
    const hashed = createHash("sha256").update("raw-nonce").digest("hex");
    const token = await sign({ nonce: hashed });
    expect((await verify(provider({}), token)).nonce).toBe(hashed);
    expect(
      await reason(
        verifyUpstreamIdToken(provider({}), token, {
          nonce: "raw-nonce",
          nonceForm: "exact",
          now: NOW,
        }),
      ),
    ).toBe("nonce_mismatch");
    expect(await reason(verify(provider({}), await sign({}), "other"))).toBe("nonce_mismatch");
    expect(await reason(verify(provider({}), await sign({ nonce: undefined })))).toBe(
      "nonce_missing",
    );
  });

  it("refuses wrong audience, issuer, key, expiry (beyond 60 s) and a future iat", async () => {
    const p = provider({});
    expect(await reason(verify(p, await sign({ aud: "someone-else" })))).toBe("wrong_audience");
    expect(await reason(verify(p, await sign({ iss: `${base}/other` })))).toBe("wrong_issuer");
    expect(await reason(verify(p, await sign({}, { key: otherKey })))).toBe("bad_signature");
    expect(await reason(verify(p, await sign({}, { key: otherKey, kid: "unknown" })))).toBe(
      "unknown_key",
    );
    const exp = Math.floor(NOW / 1000) - 30;
    expect((await verify(p, await sign({ exp }))).subject).toBe("user-1");
    expect(await reason(verify(p, await sign({ exp: exp - 60 })))).toBe("expired");
    expect(await reason(verify(p, await sign({ iat: Math.floor(NOW / 1000) + 300 })))).toMatch(
      /^claim_iat|issued_in_future/,
    );
    expect(await reason(verify(p, "not.a.jwt"))).toBe("malformed");
    expect(await reason(verify(provider({ kind: "github" }), await sign({})))).toBe(
      "provider_has_no_id_tokens",
    );
  });

  it("several audiences need an azp among the client ids (OIDC Core §3.1.3.7 steps 4-5)", async () => {
    const p = provider({});
    const both = ["web-client", "someone-else"];
    expect(await reason(verify(p, await sign({ aud: both })))).toBe("azp_missing");
    expect(await reason(verify(p, await sign({ aud: both, azp: "someone-else" })))).toBe(
      "wrong_azp",
    );
    expect((await verify(p, await sign({ aud: both, azp: "web-client" }))).subject).toBe("user-1");
    // One audience: azp may name another client of the same project (Google's Android token).
    expect((await verify(p, await sign({ azp: "android-client" }))).subject).toBe("user-1");
  });

  it("an address that is not plain ASCII is no address: lower-casing must not make it another", async () => {
    // U+212A KELVIN SIGN lower-cases to an ASCII "k": "\u212Aate@…" would become kate@….
    const kelvin = await verify(provider({}), await sign({ email: "\u212Aate@example.com" }));
    expect(kelvin).toMatchObject({ email: null, emailVerified: false });
    const dotless = await verify(provider({}), await sign({ email: "ADM\u0130N@example.com" }));
    expect(dotless).toMatchObject({ email: null, emailVerified: false });
    const spaced = await verify(provider({}), await sign({ email: "ada @example.com" }));
    expect(spaced).toMatchObject({ email: null, emailVerified: false });
    const trimmed = await verify(provider({}), await sign({ email: " Ada@Example.COM " }));
    expect(trimmed).toMatchObject({ email: "ada@example.com", emailVerified: true });
  });

  it('email_verified: a boolean, or Apple\'s string "true"; absent means unverified', async () => {
    const apple = provider({ kind: "apple", name: "apple", issuer: `${base}/apple` });
    const token = await sign({ iss: `${base}/apple`, email_verified: "true" });
    expect((await verify(apple, token)).emailVerified).toBe(true);
    const no = await sign({ iss: `${base}/apple`, email_verified: "false" });
    expect((await verify(apple, no)).emailVerified).toBe(false);
    expect(
      (await verify(provider({}), await sign({ email_verified: undefined }))).emailVerified,
    ).toBe(false);
  });

  it("Google's issuer may come without its scheme", () => {
    const google = { kind: "google" as const, tenant: null, issuer: "https://accounts.google.com" };
    expect(matchIssuer(google, "https://accounts.google.com")).toEqual({ tenantId: null });
    expect(matchIssuer(google, "accounts.google.com")).toEqual({ tenantId: null });
    expect(matchIssuer({ ...google, kind: "oidc" }, "accounts.google.com")).toBeUndefined();
  });

  it("a multi-tenant Microsoft issuer stands for the user's tenant, checked against tid", async () => {
    const ms = provider({
      kind: "microsoft",
      name: "microsoft",
      tenant: "common",
      issuer: `${base}/common/v2.0`,
    });
    const tid = "9188040d-6c67-4c5b-b112-36a304b66dad";
    const token = await sign({ iss: `${base}/${tid}/v2.0`, tid });
    expect((await verify(ms, token)).subject).toBe("user-1");
    expect(await reason(verify(ms, await sign({ iss: `${base}/${tid}/v2.0`, tid: "other" })))).toBe(
      "wrong_tenant",
    );
    expect(await reason(verify(ms, await sign({ iss: `${base}/a/b/v2.0`, tid })))).toBe(
      "wrong_issuer",
    );
    // A single-tenant provider takes its own issuer only.
    const single = { kind: "microsoft" as const, tenant: tid, issuer: `${base}/${tid}/v2.0` };
    expect(matchIssuer(single, `${base}/other/v2.0`)).toBeUndefined();
  });

  it("mints Apple's client secret: ES256, kid = key id, iss = team, sub = services id, aud = issuer, 5 min", async () => {
    const pair = await generateKeyPair("ES256", { extractable: true });
    const jwt = await appleClientSecret(
      {
        issuer: "https://appleid.apple.com",
        clientIds: ["com.example.web"],
        teamId: "TEAM123456",
        keyId: "KEY1234567",
      },
      { privateKeyPem: await exportPKCS8(pair.privateKey), now: NOW },
    );
    const publicKey = await importJWK(await exportJWK(pair.publicKey), "ES256");
    const { payload, protectedHeader } = await jwtVerify(jwt, publicKey, {
      currentDate: new Date(NOW),
    });
    expect(protectedHeader).toEqual({ alg: "ES256", kid: "KEY1234567" });
    const iat = Math.floor(NOW / 1000);
    expect(payload).toEqual({
      iss: "TEAM123456",
      sub: "com.example.web",
      aud: "https://appleid.apple.com",
      iat,
      exp: iat + 300,
    });
  });

  it("callback URLs hang off Tessera's issuer", () => {
    expect(callbackUrl("https://auth.example.com/", "google")).toBe(
      "https://auth.example.com/oauth/callback/google",
    );
  });
});
