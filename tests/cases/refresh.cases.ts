import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { openHarness } from "../harness/open.ts";
import type { HarnessFactory } from "../harness/types.ts";
import { errorOf, json, refresh, signup, type TokenBody, verifyWithJwks } from "./helpers.ts";

const DAY = 86_400_000;

/** Refresh-token rotation, reuse detection, convergence and lifetimes. */
export function refreshCases(createHarness: HarnessFactory) {
  describe("refresh rotation", () => {
    it("rotates: new refresh token, next generation, fresh access token, no-store", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      h.clock.advance(1000);
      const res = await refresh(h, tokens.refresh_token);
      expect(res.status).toBe(200);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      const next = (await res.json()) as TokenBody;
      expect(next.refresh_token).not.toBe(tokens.refresh_token);
      const [sid, gen] = next.refresh_token.split(".");
      expect(tokens.refresh_token.startsWith(`${sid}.0.`)).toBe(true);
      expect(gen).toBe("1");
      expect(next.user).toBeUndefined();
      const { payload } = await verifyWithJwks(h, next.access_token);
      expect(payload.sid).toBe(sid);
      expect(payload.sub).toBe(tokens.user?.id);
    });

    it("accepts JSON as well as form encoding", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const res = await h.request(
        "/oauth/token",
        json({ grant_type: "refresh_token", refresh_token: tokens.refresh_token }),
      );
      expect(res.status).toBe(200);
    });

    it("revokes the session when a rotated token is replayed after the grace window", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const second = (await (await refresh(h, tokens.refresh_token)).json()) as TokenBody;
      h.clock.advance(11_000);
      const replay = await refresh(h, tokens.refresh_token);
      expect(await errorOf(replay)).toMatchObject({ status: 400, error: "invalid_grant" });
      // The whole family is dead, including the newest token.
      const newest = await refresh(h, second.refresh_token);
      expect(await errorOf(newest)).toMatchObject({ status: 400, error: "invalid_grant" });
      const logged = h.logs
        .map((l) => JSON.parse(l))
        .find((l) => l.event === "refresh_token_reuse");
      expect(logged).toMatchObject({
        level: "warn",
        session_id: tokens.refresh_token.split(".")[0],
      });
    });

    it("a third token of the family also fails after reuse", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const t1 = (await (await refresh(h, tokens.refresh_token)).json()) as TokenBody;
      h.clock.advance(20_000);
      const t2 = (await (await refresh(h, t1.refresh_token)).json()) as TokenBody;
      h.clock.advance(20_000);
      expect((await refresh(h, t1.refresh_token)).status).toBe(400);
      expect((await refresh(h, t2.refresh_token)).status).toBe(400);
      expect((await refresh(h, tokens.refresh_token)).status).toBe(400);
    });

    it("20 concurrent refreshes with one token all succeed with one identical refresh token", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const responses = await Promise.all(
        Array.from({ length: 20 }, () => refresh(h, tokens.refresh_token)),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
      const bodies = (await Promise.all(responses.map((r) => r.json()))) as TokenBody[];
      const refreshTokens = new Set(bodies.map((b) => b.refresh_token));
      expect(refreshTokens.size).toBe(1);
      const [winner] = [...refreshTokens] as [string];
      expect(winner.split(".")[1]).toBe("1");
      // Every access token is valid; the session is alive and rotates on.
      for (const b of bodies) await verifyWithJwks(h, b.access_token);
      h.clock.advance(1000);
      expect((await refresh(h, winner)).status).toBe(200);
    });

    it("converges only for the direct parent: two generations behind is reuse even in the grace", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const t1 = (await (await refresh(h, tokens.refresh_token)).json()) as TokenBody;
      const t2 = (await (await refresh(h, t1.refresh_token)).json()) as TokenBody;
      // Still inside 10 s, but gen 0 is two behind gen 2.
      expect((await refresh(h, tokens.refresh_token)).status).toBe(400);
      expect((await refresh(h, t2.refresh_token)).status).toBe(400);
    });

    it("within the grace a late racer gets the same token; REFRESH_REUSE_GRACE=0 turns it off", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const t1 = (await (await refresh(h, tokens.refresh_token)).json()) as TokenBody;
      h.clock.advance(9_000);
      const late = (await (await refresh(h, tokens.refresh_token)).json()) as TokenBody;
      expect(late.refresh_token).toBe(t1.refresh_token);
      await h.close();

      const strict = await openHarness(createHarness, { REFRESH_REUSE_GRACE: "0" });
      const s = await signup(strict);
      const s1 = (await (await refresh(strict, s.tokens.refresh_token)).json()) as TokenBody;
      expect((await refresh(strict, s.tokens.refresh_token)).status).toBe(400);
      expect((await refresh(strict, s1.refresh_token)).status).toBe(400);
    });

    it("forged or unknown tokens are refused without revoking anything", async () => {
      const h = await openHarness(createHarness);
      const { tokens: first } = await signup(h);
      // Move the session two generations on, past the grace, so a forged *old* generation
      // would reach the reuse-revocation path if the MAC were not checked first.
      const second = (await (await refresh(h, first.refresh_token)).json()) as TokenBody;
      h.clock.advance(20_000);
      const tokens = (await (await refresh(h, second.refresh_token)).json()) as TokenBody;
      h.clock.advance(20_000);
      const [sid, , mac] = tokens.refresh_token.split(".") as [string, string, string];
      const forged = [
        `${sid}.0.${"A".repeat(43)}`,
        `${sid}.1.${mac}`,
        `${sid}.0.${mac}`,
        `${sid}.5.${mac}`,
        `${"B".repeat(22)}.0.${mac}`,
        "nonsense",
        `${tokens.refresh_token}.x`,
        "",
      ];
      for (const token of forged) {
        const res = await refresh(h, token);
        expect(res.status, token).toBe(400);
      }
      // The real token still works: forgeries never touched the session.
      expect((await refresh(h, tokens.refresh_token)).status).toBe(200);
    });

    it("refuses a client_id that does not match the session's client", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const app = await h.registerClient({
        name: "other app",
        grantTypes: ["refresh_token"],
        public: true,
      });
      const other = await refresh(h, tokens.refresh_token, { client_id: app.clientId });
      expect(await errorOf(other)).toMatchObject({ status: 400, error: "invalid_grant" });
      const unknown = await refresh(h, tokens.refresh_token, { client_id: "no-such-client" });
      expect(await errorOf(unknown)).toMatchObject({ status: 401, error: "invalid_client" });
      const same = await refresh(h, tokens.refresh_token, { client_id: "first-party" });
      expect(same.status).toBe(200);
    });

    it("enforces the idle timeout", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      h.clock.advance(29 * DAY);
      const alive = (await (await refresh(h, tokens.refresh_token)).json()) as TokenBody;
      expect(alive.refresh_token_expires_in).toBe(30 * 86400);
      h.clock.advance(30 * DAY + 1);
      expect(await errorOf(await refresh(h, alive.refresh_token))).toMatchObject({
        error: "invalid_grant",
      });
    });

    it("enforces the absolute lifetime however often the session refreshes", async () => {
      const h = await openHarness(createHarness, {
        REFRESH_IDLE_TTL: "30d",
        SESSION_MAX_AGE: "40d",
      });
      const { tokens } = await signup(h);
      let token = tokens.refresh_token;
      h.clock.advance(20 * DAY);
      let body = (await (await refresh(h, token)).json()) as TokenBody;
      // 20 days left of 40: the earlier end wins.
      expect(body.refresh_token_expires_in).toBe(20 * 86400);
      token = body.refresh_token;
      h.clock.advance(19 * DAY);
      body = (await (await refresh(h, token)).json()) as TokenBody;
      expect(body.refresh_token_expires_in).toBe(86400);
      h.clock.advance(DAY);
      expect((await refresh(h, body.refresh_token)).status).toBe(400);
    });

    it("access tokens minted by refresh carry the session and keep the subject", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const next = (await (await refresh(h, tokens.refresh_token)).json()) as TokenBody;
      expect(decodeJwt(next.access_token).sid).toBe(decodeJwt(tokens.access_token).sid);
      expect(decodeJwt(next.access_token).jti).not.toBe(decodeJwt(tokens.access_token).jti);
    });
  });
}
