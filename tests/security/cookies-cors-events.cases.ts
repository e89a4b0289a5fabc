import { describe, expect, it } from "vitest";
import { bearer, json, PASSWORD, refresh, signup, uniqueEmail } from "../cases/helpers.ts";
import { openHarness } from "../harness/open.ts";
import type { Harness, HarnessFactory } from "../harness/types.ts";

const SPA = "https://app.example.com";

/** Splits a Set-Cookie header into its name=value and lower-cased attributes. */
function parseSetCookie(header: string | null) {
  const [pair = "", ...attrs] = (header ?? "").split(";").map((p) => p.trim());
  const eq = pair.indexOf("=");
  return {
    name: pair.slice(0, eq),
    value: pair.slice(eq + 1),
    attrs: new Map(
      attrs.map((a) => {
        const i = a.indexOf("=");
        return i < 0 ? [a.toLowerCase(), ""] : [a.slice(0, i).toLowerCase(), a.slice(i + 1)];
      }),
    ),
  };
}

const cookieLogin = async (h: Harness, headers: Record<string, string> = { Origin: SPA }) => {
  const email = uniqueEmail();
  const res = await h.request(
    "/v1/signup",
    json({ email, password: PASSWORD, cookie: true }, headers),
  );
  return { email, res };
};

const cookieRefresh = (
  h: Harness,
  cookie: string,
  headers: Record<string, string> = { Origin: SPA },
) =>
  h.request("/oauth/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie, ...headers },
    body: "grant_type=refresh_token",
  });

/** SPA cookie mode, CSRF defence, CORS allowlist, and the auth_events log. */
export function cookieCorsEventCases(createHarness: HarnessFactory) {
  describe("SPA cookie mode", () => {
    it("puts the refresh token in a __Host- cookie with every attribute, not in the JSON", async () => {
      const h = await openHarness(createHarness, { CORS_ORIGINS: SPA });
      const { res } = await cookieLogin(h);
      expect(res.status).toBe(201);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.refresh_token).toBeUndefined();
      expect(typeof body.access_token).toBe("string");
      const cookie = parseSetCookie(res.headers.get("Set-Cookie"));
      expect(cookie.name).toBe("__Host-tessera_refresh");
      expect(cookie.value).toMatch(/^[\w-]{22}\.0\.[\w-]{43}$/);
      expect(cookie.attrs.get("max-age")).toBe(String(30 * 86400));
      expect(cookie.attrs.get("path")).toBe("/");
      expect(cookie.attrs.has("httponly")).toBe(true);
      expect(cookie.attrs.has("secure")).toBe(true);
      expect(cookie.attrs.get("samesite")).toBe("Strict");
      expect(cookie.attrs.has("domain")).toBe(false);
    });

    it("refreshes from the cookie and sets the rotated one; JSON mode is unchanged", async () => {
      const h = await openHarness(createHarness, { CORS_ORIGINS: SPA });
      const { res } = await cookieLogin(h);
      const first = parseSetCookie(res.headers.get("Set-Cookie"));
      const refreshed = await cookieRefresh(h, `${first.name}=${first.value}`);
      expect(refreshed.status).toBe(200);
      expect(((await refreshed.json()) as Record<string, unknown>).refresh_token).toBeUndefined();
      const rotated = parseSetCookie(refreshed.headers.get("Set-Cookie"));
      expect(rotated.value.split(".")[1]).toBe("1");
      // Same-origin requests without Origin but with Fetch Metadata are fine too.
      const again = await cookieRefresh(h, `${rotated.name}=${rotated.value}`, {
        "Sec-Fetch-Site": "same-origin",
      });
      expect(again.status).toBe(200);
    });

    it("refuses cookie requests from other origins, cross-site, or without Origin: 403 forbidden", async () => {
      const h = await openHarness(createHarness, { CORS_ORIGINS: SPA });
      const { res } = await cookieLogin(h);
      const c = parseSetCookie(res.headers.get("Set-Cookie"));
      const jar = `${c.name}=${c.value}`;
      for (const headers of [
        { Origin: "https://evil.example.com" },
        { Origin: SPA, "Sec-Fetch-Site": "cross-site" },
        {} as Record<string, string>,
        { Origin: "null" },
      ]) {
        const r = await cookieRefresh(h, jar, headers);
        expect(r.status, JSON.stringify(headers)).toBe(403);
        expect(((await r.json()) as { error: string }).error).toBe("forbidden");
      }
      // The cookie was not consumed by the refused requests.
      expect((await cookieRefresh(h, jar)).status).toBe(200);
      // Cookie-mode sign-in from a foreign origin is refused as well.
      expect((await cookieLogin(h, { Origin: "https://evil.example.com" })).res.status).toBe(403);
    });

    it("the issuer's own origin is always allowed", async () => {
      const h = await openHarness(createHarness, { ISSUER: "https://auth.example.com" });
      const { res } = await cookieLogin(h, { Origin: "https://auth.example.com" });
      expect(res.status).toBe(201);
    });

    it("logout clears the cookie", async () => {
      const h = await openHarness(createHarness, { CORS_ORIGINS: SPA });
      const { res } = await cookieLogin(h);
      const { access_token } = (await res.json()) as { access_token: string };
      const out = await h.request("/v1/logout", bearer(access_token, { method: "POST" }));
      expect(out.status).toBe(204);
      const cleared = parseSetCookie(out.headers.get("Set-Cookie"));
      expect(cleared.name).toBe("__Host-tessera_refresh");
      expect(cleared.value).toBe("");
      expect(cleared.attrs.get("max-age")).toBe("0");
    });
  });

  describe("CORS allowlist", () => {
    it("echoes an allowed origin exactly with Vary: Origin and credentials, never *", async () => {
      const h = await openHarness(createHarness, {
        CORS_ORIGINS: `${SPA}, https://admin.example.com`,
      });
      const res = await h.request("/.well-known/jwks.json", { headers: { Origin: SPA } });
      expect(res.headers.get("Access-Control-Allow-Origin")).toBe(SPA);
      expect(res.headers.get("Access-Control-Allow-Credentials")).toBe("true");
      expect(res.headers.get("Vary")).toContain("Origin");
      const preflight = await h.request("/v1/login", {
        method: "OPTIONS",
        headers: {
          Origin: "https://admin.example.com",
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers": "content-type",
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get("Access-Control-Allow-Origin")).toBe(
        "https://admin.example.com",
      );
      expect(preflight.headers.get("Access-Control-Allow-Methods")).toContain("POST");
    });

    it("gives unknown origins no CORS headers at all", async () => {
      const h = await openHarness(createHarness, { CORS_ORIGINS: SPA });
      for (const origin of ["https://evil.example.com", `${SPA}.evil.com`, "null"]) {
        const res = await h.request("/.well-known/jwks.json", { headers: { Origin: origin } });
        expect(res.headers.get("Access-Control-Allow-Origin"), origin).toBeNull();
        expect(res.headers.get("Access-Control-Allow-Credentials"), origin).toBeNull();
      }
    });
  });

  describe("auth events", () => {
    it("records sign-in, failures, logout, password change, revocation and reuse; shows users their own", async () => {
      const h = await openHarness(createHarness);
      const ua = { "User-Agent": "EventsTest/1.0" };
      const email = uniqueEmail();
      const signed = await h.request("/v1/signup", json({ email, password: PASSWORD }, ua));
      const tokens = (await signed.json()) as { access_token: string; refresh_token: string };
      await h.request("/v1/login", json({ email, password: "wrong password" }, ua));
      const second = (await (
        await h.request("/v1/login", json({ email, password: PASSWORD }, ua))
      ).json()) as {
        access_token: string;
        refresh_token: string;
      };
      const rotated = await refresh(h, second.refresh_token);
      expect(rotated.status).toBe(200);
      h.clock.advance(20_000);
      await refresh(h, second.refresh_token); // replay → reuse
      await h.request(
        "/v1/password",
        bearer(
          tokens.access_token,
          json({ current_password: PASSWORD, new_password: "another good phrase" }),
        ),
      );
      await h.request("/v1/logout", bearer(tokens.access_token, { method: "POST" }));
      const stranger = await signup(h);

      const res = await h.request("/v1/events", bearer(tokens.access_token));
      expect(res.status).toBe(200);
      const { events } = (await res.json()) as {
        events: Array<{
          type: string;
          ip: string | null;
          user_agent: string | null;
          created_at: string;
        }>;
      };
      const types = events.map((e) => e.type);
      for (const type of [
        "signup",
        "login_failed",
        "login_succeeded",
        "refresh_token_reuse",
        "password_changed",
        "logout",
      ]) {
        expect(types, type).toContain(type);
      }
      expect(types[0]).toBe("logout"); // newest first
      expect(events.find((e) => e.type === "login_failed")).toMatchObject({
        ip: "127.0.0.1",
        user_agent: "EventsTest/1.0",
      });
      const theirs = (await (
        await h.request("/v1/events", bearer(stranger.tokens.access_token))
      ).json()) as {
        events: Array<{ type: string }>;
      };
      expect(theirs.events.map((e) => e.type)).toEqual(["signup"]);
      const limited = (await (
        await h.request("/v1/events?limit=2", bearer(tokens.access_token))
      ).json()) as {
        events: unknown[];
      };
      expect(limited.events).toHaveLength(2);
      expect((await h.request("/v1/events?limit=0", bearer(tokens.access_token))).status).toBe(400);
    });

    it("records a user revoking one of their sessions", async () => {
      const h = await openHarness(createHarness);
      const { email, tokens } = await signup(h);
      const other = (await (
        await h.request("/v1/login", json({ email, password: PASSWORD }))
      ).json()) as {
        access_token: string;
      };
      const sid = JSON.parse(atob(other.access_token.split(".")[1] as string)).sid as string;
      await h.request(`/v1/sessions/${sid}`, bearer(tokens.access_token, { method: "DELETE" }));
      const { events } = (await (
        await h.request("/v1/events", bearer(tokens.access_token))
      ).json()) as {
        events: Array<{ type: string; session_id: string | null }>;
      };
      expect(events[0]).toMatchObject({ type: "session_revoked", session_id: sid });
    });
  });
}
