import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import type { SessionView } from "../../src/sessions/list-sessions.ts";
import { openHarness } from "../harness/open.ts";
import type { HarnessFactory } from "../harness/types.ts";
import { bearer, errorOf, json, login, refresh, signup, type TokenBody } from "./helpers.ts";

/** Sessions list, revocation and logout scopes. */
export function sessionCases(createHarness: HarnessFactory) {
  const listSessions = async (h: Awaited<ReturnType<HarnessFactory>>, token: string) => {
    const res = await h.request("/v1/sessions", bearer(token));
    expect(res.status).toBe(200);
    return ((await res.json()) as { sessions: SessionView[] }).sessions;
  };

  describe("sessions and logout", () => {
    it("lists live sessions with current marked and the documented fields", async () => {
      const h = await openHarness(createHarness);
      const { email, tokens } = await signup(h);
      const phone = await h.request(
        "/v1/login",
        json(
          { email, password: "correct horse battery staple" },
          { "User-Agent": "TestPhone/1.0" },
        ),
      );
      const phoneTokens = (await phone.json()) as TokenBody;
      const sessions = await listSessions(h, phoneTokens.access_token);
      expect(sessions).toHaveLength(2);
      const current = sessions.find((s) => s.current);
      expect(current?.id).toBe(decodeJwt(phoneTokens.access_token).sid);
      expect(current?.user_agent).toBe("TestPhone/1.0");
      expect(sessions.filter((s) => s.current)).toHaveLength(1);
      for (const s of sessions) {
        expect(Object.keys(s).sort()).toEqual(
          ["created_at", "current", "expires_at", "id", "ip", "last_used_at", "user_agent"].sort(),
        );
        expect(Date.parse(s.expires_at)).toBeGreaterThan(Date.parse(s.created_at));
      }
      // Another user's list does not show these.
      const stranger = await signup(h);
      expect(await listSessions(h, stranger.tokens.access_token)).toHaveLength(1);
      void tokens;
    });

    it("DELETE /v1/sessions/:id revokes one session; its refresh token is refused", async () => {
      const h = await openHarness(createHarness);
      const { email, tokens } = await signup(h);
      const other = await login(h, email);
      const otherSid = decodeJwt(other.access_token).sid as string;
      const del = await h.request(
        `/v1/sessions/${otherSid}`,
        bearer(tokens.access_token, { method: "DELETE" }),
      );
      expect(del.status).toBe(204);
      expect((await refresh(h, other.refresh_token)).status).toBe(400);
      expect((await listSessions(h, tokens.access_token)).map((s) => s.id)).toEqual([
        decodeJwt(tokens.access_token).sid,
      ]);
      // Already revoked: gone.
      const again = await h.request(
        `/v1/sessions/${otherSid}`,
        bearer(tokens.access_token, { method: "DELETE" }),
      );
      expect(again.status).toBe(404);
    });

    it("another user's session is 404 and stays alive", async () => {
      const h = await openHarness(createHarness);
      const alice = await signup(h);
      const bob = await signup(h);
      const bobSid = decodeJwt(bob.tokens.access_token).sid as string;
      const res = await h.request(
        `/v1/sessions/${bobSid}`,
        bearer(alice.tokens.access_token, { method: "DELETE" }),
      );
      expect(await errorOf(res)).toMatchObject({ status: 404, error: "not_found" });
      expect((await refresh(h, bob.tokens.refresh_token)).status).toBe(200);
    });

    it("logout (local, default, empty body) ends only this session", async () => {
      const h = await openHarness(createHarness);
      const { email, tokens } = await signup(h);
      const other = await login(h, email);
      const res = await h.request("/v1/logout", bearer(tokens.access_token, { method: "POST" }));
      expect(res.status).toBe(204);
      expect((await refresh(h, tokens.refresh_token)).status).toBe(400);
      expect((await refresh(h, other.refresh_token)).status).toBe(200);
    });

    it("logout scope=global ends every session of the user", async () => {
      const h = await openHarness(createHarness);
      const { email, tokens } = await signup(h);
      const other = await login(h, email);
      const stranger = await signup(h);
      const res = await h.request(
        "/v1/logout",
        bearer(tokens.access_token, json({ scope: "global" })),
      );
      expect(res.status).toBe(204);
      expect((await refresh(h, tokens.refresh_token)).status).toBe(400);
      expect((await refresh(h, other.refresh_token)).status).toBe(400);
      expect((await refresh(h, stranger.tokens.refresh_token)).status).toBe(200);
    });

    it("logout scope=others keeps only this session", async () => {
      const h = await openHarness(createHarness);
      const { email, tokens } = await signup(h);
      const a = await login(h, email);
      const b = await login(h, email);
      const res = await h.request(
        "/v1/logout",
        bearer(tokens.access_token, json({ scope: "others" })),
      );
      expect(res.status).toBe(204);
      expect((await refresh(h, a.refresh_token)).status).toBe(400);
      expect((await refresh(h, b.refresh_token)).status).toBe(400);
      expect((await refresh(h, tokens.refresh_token)).status).toBe(200);
    });

    it("logout refuses an unknown scope and needs a bearer token", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const bad = await h.request(
        "/v1/logout",
        bearer(tokens.access_token, json({ scope: "everywhere" })),
      );
      expect(await errorOf(bad)).toMatchObject({ status: 400, error: "invalid_request" });
      const anon = await h.request("/v1/logout", { method: "POST" });
      expect(await errorOf(anon)).toMatchObject({ status: 401, error: "invalid_token" });
    });

    it("an access token of a revoked session stays valid until exp (stateless JWT)", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      await h.request("/v1/logout", bearer(tokens.access_token, { method: "POST" }));
      expect((await h.request("/v1/me", bearer(tokens.access_token))).status).toBe(200);
      h.clock.advance(906_000);
      expect((await h.request("/v1/me", bearer(tokens.access_token))).status).toBe(401);
    });
  });
}
