import { describe, expect, it } from "vitest";
import { openHarness } from "../harness/open.ts";
import type { HarnessFactory } from "../harness/types.ts";
import { errorOf, form, json, PASSWORD, signup, uniqueEmail } from "./helpers.ts";

/** The HTTP contract: error shape, content types, limits, discovery, health. */
export function httpCases(createHarness: HarnessFactory) {
  describe("HTTP contract", () => {
    it("puts X-Request-Id on every response, errors included", async () => {
      const h = await openHarness(createHarness);
      for (const [path, init] of [
        ["/healthz", {}],
        ["/nope", {}],
        ["/v1/me", {}],
        ["/v1/login", json({})],
      ] as const) {
        const res = await h.request(path, init);
        expect(res.headers.get("X-Request-Id"), path).toMatch(/.+/);
      }
    });

    it("answers malformed JSON with 400 invalid_request, never 500", async () => {
      const h = await openHarness(createHarness);
      for (const body of ["{", '{"email": ', "not json", '{"email":"a@b.co","password":}']) {
        const res = await h.request("/v1/signup", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body,
        });
        expect(await errorOf(res), body).toMatchObject({ status: 400, error: "invalid_request" });
      }
    });

    it("answers a wrong content type with 415 unsupported_media_type", async () => {
      const h = await openHarness(createHarness);
      const body = JSON.stringify({ email: uniqueEmail(), password: PASSWORD });
      for (const type of [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
      ]) {
        const res = await h.request("/v1/signup", {
          method: "POST",
          headers: { "Content-Type": type },
          body,
        });
        expect(await errorOf(res), type).toMatchObject({
          status: 415,
          error: "unsupported_media_type",
        });
      }
      const token = await h.request("/oauth/token", {
        method: "POST",
        headers: { "Content-Type": "text/plain" },
        body: "grant_type=refresh_token",
      });
      expect(await errorOf(token)).toMatchObject({ status: 415, error: "unsupported_media_type" });
    });

    it("accepts JSON with a charset parameter", async () => {
      const h = await openHarness(createHarness);
      const res = await h.request("/v1/signup", {
        method: "POST",
        headers: { "Content-Type": "application/json; charset=utf-8" },
        body: JSON.stringify({ email: uniqueEmail(), password: PASSWORD }),
      });
      expect(res.status).toBe(201);
    });

    it("refuses bodies over 64 KB with 413 payload_too_large", async () => {
      const h = await openHarness(createHarness);
      const big = JSON.stringify({ email: uniqueEmail(), password: "x".repeat(70 * 1024) });
      const res = await h.request("/v1/signup", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: big,
      });
      // Connection: close, so a server does not read the unread rest as the next request.
      expect(res.headers.get("Connection")).toBe("close");
      expect(await errorOf(res)).toMatchObject({ status: 413, error: "payload_too_large" });
    });

    it("token endpoint: unknown grant, missing grant, missing token, repeated parameter", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const unknown = await h.request("/oauth/token", form({ grant_type: "password" }));
      expect(await errorOf(unknown)).toMatchObject({
        status: 400,
        error: "unsupported_grant_type",
      });
      const missing = await h.request("/oauth/token", form({}));
      expect(await errorOf(missing)).toMatchObject({ status: 400, error: "invalid_request" });
      const noBody = await h.request("/oauth/token", { method: "POST" });
      expect(await errorOf(noBody)).toMatchObject({ status: 400, error: "invalid_request" });
      const noToken = await h.request("/oauth/token", form({ grant_type: "refresh_token" }));
      expect(await errorOf(noToken)).toMatchObject({ status: 400, error: "invalid_request" });
      const repeated = await h.request("/oauth/token", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: `grant_type=refresh_token&refresh_token=${tokens.refresh_token}&refresh_token=${tokens.refresh_token}`,
      });
      expect(await errorOf(repeated)).toMatchObject({ status: 400, error: "invalid_request" });
      const wrongType = await h.request(
        "/oauth/token",
        json({ grant_type: "refresh_token", refresh_token: 7 }),
      );
      expect(await errorOf(wrongType)).toMatchObject({ status: 400, error: "invalid_request" });
    });

    it("answers a wrong method with 405 and Allow, an unknown path with 404", async () => {
      const h = await openHarness(createHarness);
      const res = await h.request("/v1/login", { method: "GET" });
      expect(res.headers.get("Allow")).toBe("POST");
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      expect(await errorOf(res)).toMatchObject({ status: 405, error: "method_not_allowed" });
      expect(await errorOf(await h.request("/v1/nothing"))).toMatchObject({
        status: 404,
        error: "not_found",
      });
    });

    it("serves the JWKS with caching headers, ETag and 304", async () => {
      const h = await openHarness(createHarness);
      const res = await h.request("/.well-known/jwks.json");
      expect(res.status).toBe(200);
      expect(res.headers.get("Cache-Control")).toBe("public, max-age=300");
      const etag = res.headers.get("ETag") as string;
      expect(etag).toMatch(/^".+"$/);
      const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
      // Current + next of SIGNING_ALG (access tokens) and of RS256 (ID tokens).
      expect(keys).toHaveLength(4);
      expect(keys.filter((key) => key.alg === "EdDSA")).toHaveLength(2);
      expect(keys.filter((key) => key.alg === "RS256")).toHaveLength(2);
      for (const key of keys) {
        if (key.alg === "EdDSA") {
          expect(key).toMatchObject({ use: "sig", kty: "OKP", crv: "Ed25519" });
        } else {
          expect(key).toMatchObject({ use: "sig", kty: "RSA" });
        }
        expect(typeof key.kid).toBe("string");
        for (const secret of ["d", "p", "q", "dp", "dq", "qi"]) expect(key[secret]).toBeUndefined();
      }
      const cached = await h.request("/.well-known/jwks.json", {
        headers: { "If-None-Match": etag },
      });
      expect(cached.status).toBe(304);
    });

    it("publishes RFC 8414 metadata at both well-known paths", async () => {
      const h = await openHarness(createHarness);
      for (const path of [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
      ]) {
        const res = await h.request(path);
        expect(res.status).toBe(200);
        const meta = await res.json();
        expect(meta).toMatchObject({
          issuer: h.config.issuer,
          token_endpoint: `${h.config.issuer}/oauth/token`,
          jwks_uri: `${h.config.issuer}/.well-known/jwks.json`,
          grant_types_supported: [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:token-exchange",
          ],
          revocation_endpoint: `${h.config.issuer}/oauth/revoke`,
          introspection_endpoint: `${h.config.issuer}/oauth/introspect`,
          access_token_signing_alg_values_supported: ["EdDSA"],
        });
      }
    });

    it("reports health and serves the OpenAPI document and docs page", async () => {
      const h = await openHarness(createHarness);
      const health = await h.request("/healthz");
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });
      const doc = (await (await h.request("/openapi.json")).json()) as {
        openapi: string;
        paths: Record<string, unknown>;
      };
      expect(doc.openapi).toBe("3.1.0");
      for (const path of [
        "/v1/signup",
        "/v1/login",
        "/oauth/token",
        "/v1/me",
        "/v1/sessions",
        "/v1/sessions/{id}",
        "/v1/logout",
      ]) {
        expect(doc.paths[path], path).toBeTruthy();
      }
      const docs = await h.request("/docs");
      expect(docs.status).toBe(200);
      expect(docs.headers.get("Content-Type")).toContain("text/html");
    });

    it("sets security headers on every response", async () => {
      const h = await openHarness(createHarness);
      const res = await h.request("/healthz");
      expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
      expect(res.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    });
  });
}
