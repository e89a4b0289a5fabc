import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { openHarness } from "../harness/open.ts";
import type { Harness, HarnessFactory } from "../harness/types.ts";
import { basic, errorOf, form, json, refresh, signup, verifyWithJwks } from "./helpers.ts";

const withBasic = (init: RequestInit, id: string, secret: string): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), Authorization: basic(id, secret) },
});

async function serviceClient(h: Harness, scopes = ["read", "write"]) {
  const c = await h.registerClient({
    name: "billing service",
    grantTypes: ["client_credentials"],
    scopes,
  });
  return { id: c.clientId, secret: c.clientSecret as string };
}

/** Registered clients: authentication at /oauth/*, client_credentials, refresh binding. */
export function oauthClientCases(createHarness: HarnessFactory) {
  describe("OAuth clients", () => {
    it("client_credentials with client_secret_basic issues a service token, no refresh token", async () => {
      const h = await openHarness(createHarness);
      const svc = await serviceClient(h);
      const res = await h.request(
        "/oauth/token",
        withBasic(form({ grant_type: "client_credentials" }), svc.id, svc.secret),
      );
      expect(res.status).toBe(200);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ token_type: "Bearer", expires_in: 900, scope: "read write" });
      expect(body.refresh_token).toBeUndefined();
      const { payload } = await verifyWithJwks(h, body.access_token as string);
      expect(payload).toMatchObject({ sub: svc.id, client_id: svc.id, scope: "read write" });
      expect(payload.sid).toBeUndefined();
    });

    it("client_secret_post works; requested scopes are narrowed, never widened", async () => {
      const h = await openHarness(createHarness);
      const svc = await serviceClient(h);
      const post = (scope?: string) =>
        h.request(
          "/oauth/token",
          form({
            grant_type: "client_credentials",
            client_id: svc.id,
            client_secret: svc.secret,
            ...(scope ? { scope } : {}),
          }),
        );
      const narrowed = (await (await post("read")).json()) as {
        access_token: string;
        scope: string;
      };
      expect(narrowed.scope).toBe("read");
      expect(decodeJwt(narrowed.access_token).scope).toBe("read");
      expect(await errorOf(await post("read admin"))).toMatchObject({
        status: 400,
        error: "invalid_scope",
      });
    });

    it("honours a client's own access-token TTL", async () => {
      const h = await openHarness(createHarness);
      const c = await h.registerClient({
        name: "short",
        grantTypes: ["client_credentials"],
        accessTokenTtl: 60,
      });
      const res = await h.request(
        "/oauth/token",
        withBasic(form({ grant_type: "client_credentials" }), c.clientId, c.clientSecret as string),
      );
      const body = (await res.json()) as { expires_in: number; access_token: string };
      expect(body.expires_in).toBe(60);
      const claims = decodeJwt(body.access_token);
      expect(Number(claims.exp) - Number(claims.iat)).toBe(60);
    });

    it("refuses every client-authentication failure with 401 invalid_client and a challenge", async () => {
      const h = await openHarness(createHarness);
      const svc = await serviceClient(h);
      const other = await serviceClient(h);
      const grant = { grant_type: "client_credentials" };
      const attempts: Record<string, RequestInit> = {
        "wrong secret (basic)": withBasic(form(grant), svc.id, `${svc.secret}x`),
        "another client's secret": withBasic(form(grant), svc.id, other.secret),
        "unknown client (basic)": withBasic(form(grant), "nobody", svc.secret),
        "wrong secret (post)": form({ ...grant, client_id: svc.id, client_secret: "nope" }),
        "secret without id": form({ ...grant, client_secret: svc.secret }),
        "confidential client without its secret": form({ ...grant, client_id: svc.id }),
        "malformed basic": {
          ...form(grant),
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            Authorization: "Basic !!!",
          },
        },
        "basic id differs from body client_id": withBasic(
          form({ ...grant, client_id: other.id }),
          svc.id,
          svc.secret,
        ),
        "no client at all": form(grant),
      };
      for (const [name, init] of Object.entries(attempts)) {
        const res = await h.request("/oauth/token", init);
        expect(res.status, name).toBe(401);
        expect(res.headers.get("WWW-Authenticate"), name).toMatch(/^Basic realm="tessera"/);
        expect((await errorOf(res)).error, name).toBe("invalid_client");
      }
      // Two methods at once is a malformed request (RFC 6749 §2.3).
      const both = await h.request(
        "/oauth/token",
        withBasic(
          form({ ...grant, client_id: svc.id, client_secret: svc.secret }),
          svc.id,
          svc.secret,
        ),
      );
      expect(await errorOf(both)).toMatchObject({ status: 400, error: "invalid_request" });
    });

    it("a client may use only its registered grant types: 400 unauthorized_client", async () => {
      const h = await openHarness(createHarness);
      const svc = await serviceClient(h);
      const res = await h.request(
        "/oauth/token",
        withBasic(form({ grant_type: "refresh_token", refresh_token: "x" }), svc.id, svc.secret),
      );
      expect(await errorOf(res)).toMatchObject({ status: 400, error: "unauthorized_client" });
      // The first-party public client cannot use client_credentials.
      const firstParty = await h.request(
        "/oauth/token",
        form({ grant_type: "client_credentials", client_id: "first-party" }),
      );
      expect(await errorOf(firstParty)).toMatchObject({
        status: 400,
        error: "unauthorized_client",
      });
    });

    it("refresh tokens are bound to their client: another client gets invalid_grant", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const confidential = await h.registerClient({
        name: "web backend",
        grantTypes: ["refresh_token"],
      });
      const res = await refresh(h, tokens.refresh_token, {}).then(() =>
        h.request(
          "/oauth/token",
          withBasic(
            form({ grant_type: "refresh_token", refresh_token: tokens.refresh_token }),
            confidential.clientId,
            confidential.clientSecret as string,
          ),
        ),
      );
      expect(await errorOf(res)).toMatchObject({ status: 400, error: "invalid_grant" });
    });

    it("client-credentials tokens are not user tokens: /v1/me refuses them", async () => {
      const h = await openHarness(createHarness);
      const svc = await serviceClient(h);
      const { access_token } = (await (
        await h.request(
          "/oauth/token",
          withBasic(form({ grant_type: "client_credentials" }), svc.id, svc.secret),
        )
      ).json()) as { access_token: string };
      const me = await h.request("/v1/me", {
        headers: { Authorization: `Bearer ${access_token}` },
      });
      expect(me.status).toBe(401);
    });

    it("accepts JSON at the token endpoint for client_credentials too", async () => {
      const h = await openHarness(createHarness);
      const svc = await serviceClient(h);
      const res = await h.request(
        "/oauth/token",
        json({ grant_type: "client_credentials", client_id: svc.id, client_secret: svc.secret }),
      );
      expect(res.status).toBe(200);
    });
  });
}
