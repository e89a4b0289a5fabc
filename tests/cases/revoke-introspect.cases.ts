import { decodeJwt, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { openHarness } from "../harness/open.ts";
import type { Harness, HarnessFactory } from "../harness/types.ts";
import {
  basic,
  bearer,
  errorOf,
  form,
  json,
  login,
  refresh,
  signup,
  type TokenBody,
} from "./helpers.ts";

async function resourceServer(h: Harness) {
  const c = await h.registerClient({ name: "api", grantTypes: ["client_credentials"] });
  const authorization = basic(c.clientId, c.clientSecret as string);
  const introspect = async (token: string) => {
    const res = await h.request("/oauth/introspect", {
      ...form({ token }),
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Authorization: authorization,
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    return (await res.json()) as Record<string, unknown> & { active: boolean };
  };
  return { ...c, authorization, introspect };
}

const revoke = (h: Harness, params: Record<string, string>, headers: Record<string, string> = {}) =>
  h.request("/oauth/revoke", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(params).toString(),
  });

/** RFC 7009 revocation and RFC 7662 introspection. */
export function revokeIntrospectCases(createHarness: HarnessFactory) {
  describe("revocation (RFC 7009)", () => {
    it("a refresh token revokes its session", async () => {
      const h = await openHarness(createHarness);
      const { email, tokens } = await signup(h);
      const other = await login(h, email);
      const res = await revoke(h, {
        token: tokens.refresh_token,
        token_type_hint: "refresh_token",
      });
      expect(res.status).toBe(200);
      expect((await refresh(h, tokens.refresh_token)).status).toBe(400);
      expect((await refresh(h, other.refresh_token)).status).toBe(200);
    });

    it("an access token revokes its session too", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      expect((await revoke(h, { token: tokens.access_token })).status).toBe(200);
      expect((await refresh(h, tokens.refresh_token)).status).toBe(400);
    });

    it("unknown, malformed, already revoked and foreign tokens still answer 200", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      for (const token of ["nonsense", `${tokens.refresh_token.slice(0, -2)}AA`, "a.b.c"]) {
        expect((await revoke(h, { token })).status, token).toBe(200);
      }
      expect((await revoke(h, { token: tokens.refresh_token })).status).toBe(200);
      expect((await revoke(h, { token: tokens.refresh_token })).status).toBe(200);
    });

    it("another client cannot revoke a first-party session", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const svc = await h.registerClient({ name: "svc", grantTypes: ["client_credentials"] });
      const res = await revoke(
        h,
        { token: tokens.refresh_token },
        { Authorization: basic(svc.clientId, svc.clientSecret as string) },
      );
      expect(res.status).toBe(200);
      expect((await refresh(h, tokens.refresh_token)).status).toBe(200);
    });

    it("needs a token parameter and valid client credentials when they are sent", async () => {
      const h = await openHarness(createHarness);
      expect(await errorOf(await revoke(h, {}))).toMatchObject({
        status: 400,
        error: "invalid_request",
      });
      const bad = await revoke(h, { token: "x" }, { Authorization: basic("nobody", "nothing") });
      expect(await errorOf(bad)).toMatchObject({ status: 401, error: "invalid_client" });
    });
  });

  describe("introspection (RFC 7662)", () => {
    it("describes an active access token and turns inactive at once on logout", async () => {
      const h = await openHarness(createHarness);
      const rs = await resourceServer(h);
      const { tokens } = await signup(h);
      const active = await rs.introspect(tokens.access_token);
      const claims = decodeJwt(tokens.access_token);
      expect(active).toMatchObject({
        active: true,
        token_type: "Bearer",
        sub: claims.sub,
        client_id: "first-party",
        sid: claims.sid,
        exp: claims.exp,
        iss: h.config.issuer,
        aud: h.config.accessTokenAudience,
      });
      await h.request("/v1/logout", bearer(tokens.access_token, { method: "POST" }));
      // The JWT is still unexpired, but its session is gone.
      expect(await rs.introspect(tokens.access_token)).toEqual({ active: false });
    });

    it("is inactive for expired, foreign and garbage tokens", async () => {
      const h = await openHarness(createHarness);
      const rs = await resourceServer(h);
      const { tokens } = await signup(h);
      const { privateKey } = await generateKeyPair("EdDSA");
      const foreign = await new SignJWT(decodeJwt(tokens.access_token))
        .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: "someone-else" })
        .sign(privateKey);
      for (const token of [foreign, "garbage", `${tokens.access_token}x`]) {
        expect(await rs.introspect(token), token).toEqual({ active: false });
      }
      h.clock.advance(901_000 + 5_000);
      expect(await rs.introspect(tokens.access_token)).toEqual({ active: false });
    });

    it("a refresh token is active only at the session's current generation", async () => {
      const h = await openHarness(createHarness);
      const rs = await resourceServer(h);
      const { tokens } = await signup(h);
      expect(await rs.introspect(tokens.refresh_token)).toMatchObject({
        active: true,
        token_type: "refresh_token",
        client_id: "first-party",
      });
      const next = (await (await refresh(h, tokens.refresh_token)).json()) as TokenBody;
      expect(await rs.introspect(tokens.refresh_token)).toEqual({ active: false });
      expect((await rs.introspect(next.refresh_token)).active).toBe(true);
    });

    it("client-credentials tokens are active until their client is deleted or they expire", async () => {
      const h = await openHarness(createHarness);
      const rs = await resourceServer(h);
      const svcToken = (await (
        await h.request("/oauth/token", {
          ...form({ grant_type: "client_credentials" }),
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            Authorization: rs.authorization,
          },
        })
      ).json()) as { access_token: string };
      expect(await rs.introspect(svcToken.access_token)).toMatchObject({
        active: true,
        sub: rs.clientId,
      });
    });

    it("never answers unauthenticated or public callers", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const publicApp = await h.registerClient({
        name: "spa",
        grantTypes: ["refresh_token"],
        public: true,
      });
      for (const params of <Array<Record<string, string>>>[
        { token: tokens.access_token },
        { token: tokens.access_token, client_id: publicApp.clientId },
        { token: tokens.access_token, client_id: "first-party" },
      ]) {
        const res = await h.request("/oauth/introspect", form(params));
        expect(res.status).toBe(401);
        expect(res.headers.get("WWW-Authenticate")).toMatch(/^Basic/);
        const body = await errorOf(res);
        expect(body.error).toBe("invalid_client");
        expect(JSON.stringify(body)).not.toContain("active");
      }
      const withJson = await h.request("/oauth/introspect", json({ token: tokens.access_token }));
      expect(withJson.status).toBe(401);
    });
  });
}
