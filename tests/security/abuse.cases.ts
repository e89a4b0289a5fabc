import { describe, expect, it } from "vitest";
import { errorOf, form, json, PASSWORD, signup, uniqueEmail } from "../cases/helpers.ts";
import { openHarness } from "../harness/open.ts";
import type { Harness, HarnessFactory } from "../harness/types.ts";

const MINUTE = 60_000;

const attempt = (
  h: Harness,
  email: string,
  password: string,
  headers: Record<string, string> = {},
) => h.request("/v1/login", json({ email, password }, headers));

/** Brute force and abuse: IP rate limits, per-account delays, trusted client IPs. */
export function abuseCases(createHarness: HarnessFactory) {
  describe("rate limits per client IP", () => {
    it("limits signup/login per IP with 429 and Retry-After; the next window is free again", async () => {
      const h = await openHarness(createHarness, { RATE_LIMIT_AUTH: "5/1m" });
      h.clock.set(Math.floor(h.clock.now() / MINUTE) * MINUTE + 10_000);
      for (let i = 0; i < 5; i++) {
        const res = await attempt(h, uniqueEmail(), "wrong password");
        expect(res.status, `attempt ${i}`).toBe(400);
      }
      const limited = await h.request(
        "/v1/signup",
        json({ email: uniqueEmail(), password: PASSWORD }),
      );
      expect(await errorOf(limited)).toMatchObject({ status: 429, error: "too_many_requests" });
      expect(limited.headers.get("Retry-After")).toBe("50");
      h.clock.advance(50_000);
      expect(
        (await h.request("/v1/signup", json({ email: uniqueEmail(), password: PASSWORD }))).status,
      ).toBe(201);
    });

    it("the default lets an office NAT through: 60 sign-in attempts a minute from one IP", async () => {
      const h = await openHarness(createHarness);
      h.clock.set(Math.floor(h.clock.now() / MINUTE) * MINUTE);
      const { email } = await signup(h);
      for (let i = 0; i < 59; i++) {
        const res = await attempt(h, `${i}.${email}`, "wrong password");
        expect(res.status, `attempt ${i}`).toBe(400);
      }
      expect((await attempt(h, email, "wrong password")).status).toBe(429);
    });

    it("limits the token endpoints per IP (RATE_LIMIT_TOKEN)", async () => {
      const h = await openHarness(createHarness, { RATE_LIMIT_TOKEN: "3/1m" });
      h.clock.set(Math.floor(h.clock.now() / MINUTE) * MINUTE);
      const statuses = [];
      for (let i = 0; i < 4; i++) {
        statuses.push(
          (
            await h.request(
              "/oauth/token",
              form({ grant_type: "refresh_token", refresh_token: "x" }),
            )
          ).status,
        );
      }
      expect(statuses).toEqual([400, 400, 400, 429]);
      expect((await h.request("/oauth/revoke", form({ token: "x" }))).status).toBe(429);
    });

    it("spoofed forwarding headers change nothing unless TRUST_PROXY names one", async () => {
      const h = await openHarness(createHarness, { RATE_LIMIT_AUTH: "2/1m" });
      h.clock.set(Math.floor(h.clock.now() / MINUTE) * MINUTE);
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        const res = await attempt(h, uniqueEmail(), "wrong password", {
          "X-Forwarded-For": `198.51.100.${i}`,
          "CF-Connecting-IP": `203.0.113.${i}`,
        });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([400, 400, 429]);
      await h.close();

      const proxied = await openHarness(createHarness, {
        RATE_LIMIT_AUTH: "2/1m",
        TRUST_PROXY: "X-Forwarded-For",
      });
      proxied.clock.set(Math.floor(proxied.clock.now() / MINUTE) * MINUTE);
      const perClient = [];
      for (let i = 0; i < 3; i++) {
        const res = await attempt(proxied, uniqueEmail(), "wrong password", {
          "X-Forwarded-For": `198.51.100.${i}, 10.0.0.1`,
        });
        perClient.push(res.status);
      }
      expect(perClient).toEqual([400, 400, 400]);
    });

    it("counts an IPv6 client by its /64, so rotating addresses does not escape the limit", async () => {
      const h = await openHarness(createHarness, {
        RATE_LIMIT_AUTH: "3/1m",
        TRUST_PROXY: "X-Real-IP",
      });
      h.clock.set(Math.floor(h.clock.now() / MINUTE) * MINUTE);
      const statuses = [];
      for (let i = 1; i <= 4; i++) {
        const res = await attempt(h, uniqueEmail(), "wrong password", {
          "X-Real-IP": `2001:db8:1:2::${i.toString(16)}`,
        });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([400, 400, 400, 429]);
      const otherNetwork = await attempt(h, uniqueEmail(), "wrong password", {
        "X-Real-IP": "2001:db8:1:3::1",
      });
      expect(otherNetwork.status).toBe(400);
    });

    it("RATE_LIMITS=off turns the IP limits off", async () => {
      const h = await openHarness(createHarness, { RATE_LIMITS: "off", RATE_LIMIT_AUTH: "1/1m" });
      for (let i = 0; i < 3; i++)
        expect((await attempt(h, uniqueEmail(), "nope nope")).status).toBe(400);
    });
  });

  describe("per-account sign-in delays", () => {
    it("delays after 5 consecutive failures, without hashing, even for the right password", async () => {
      const h = await openHarness(createHarness, { RATE_LIMITS: "off" });
      const { email } = await signup(h);
      for (let i = 0; i < 5; i++)
        expect((await attempt(h, email, "wrong password")).status).toBe(400);
      // Five failures: the next attempt must wait (1 s), whatever the password.
      const before = h.hashCount();
      const blocked = await attempt(h, email, PASSWORD);
      expect(await errorOf(blocked)).toMatchObject({ status: 429, error: "too_many_requests" });
      expect(Number(blocked.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
      expect(h.hashCount()).toBe(before);
      h.clock.advance(2_000);
      expect((await attempt(h, email, PASSWORD)).status).toBe(200);
      // Success reset the count: five free failures again.
      for (let i = 0; i < 5; i++)
        expect((await attempt(h, email, "wrong password")).status).toBe(400);
    });

    it("a burst of parallel guesses cannot slip past the delay: each in-flight attempt counts", async () => {
      const h = await openHarness(createHarness, { RATE_LIMITS: "off" });
      const { email } = await signup(h);
      const statuses = (
        await Promise.all(Array.from({ length: 12 }, () => attempt(h, email, "wrong password")))
      ).map((r) => r.status);
      expect(statuses.filter((s) => s === 400)).toHaveLength(5);
      expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    });

    it("delays grow with each failure and never become a permanent lock", async () => {
      const h = await openHarness(createHarness, { RATE_LIMITS: "off" });
      const { email } = await signup(h);
      const retryAfters: number[] = [];
      for (let i = 0; i < 12; i++) {
        let res = await attempt(h, email, "wrong password");
        if (res.status === 429) {
          const wait = Number(res.headers.get("Retry-After"));
          retryAfters.push(wait);
          h.clock.advance(wait * 1000);
          res = await attempt(h, email, "wrong password");
        }
        expect(res.status).toBe(400);
      }
      for (let i = 1; i < retryAfters.length; i++) {
        expect(retryAfters[i]).toBeGreaterThanOrEqual(retryAfters[i - 1] as number);
      }
      expect(retryAfters.at(-1)).toBeGreaterThan(retryAfters[0] as number);
      // However long the attacker kept at it, the owner gets in once the delay is over.
      h.clock.advance(15 * MINUTE);
      expect((await attempt(h, email, PASSWORD)).status).toBe(200);
    });

    it("an unknown email is delayed exactly like a known one (no account enumeration)", async () => {
      const h = await openHarness(createHarness, { RATE_LIMITS: "off" });
      const { email } = await signup(h);
      const stranger = uniqueEmail("nobody");
      const sequence = async (address: string) => {
        const statuses = [];
        for (let i = 0; i < 7; i++)
          statuses.push((await attempt(h, address, "wrong password")).status);
        return statuses;
      };
      const known = await sequence(email);
      const unknown = await sequence(stranger);
      expect(unknown).toEqual(known);
      expect(known).toContain(429);
    });
  });

  describe("stale throttle rows", () => {
    it("scheduled pruning drops counters and delays nobody is subject to any more", async () => {
      // No verification mail, so the only counters are the sign-in ones.
      const h = await openHarness(createHarness, {
        RATE_LIMIT_AUTH: "100/1m",
        EMAIL_VERIFICATION: "off",
      });
      const { email } = await signup(h);
      for (let i = 0; i < 3; i++) await attempt(h, email, "wrong password");
      const none = {
        rateLimits: 0,
        loginThrottles: 0,
        authEvents: 0,
        emailChallenges: 0,
        authorizationRequests: 0,
        authorizationCodes: 0,
        browserSessions: 0,
        upstreamAuthorizations: 0,
        upstreamNonces: 0,
      };
      expect(await h.pruneStale()).toEqual(none);
      h.clock.advance(3 * 86_400_000);
      expect(await h.pruneStale()).toEqual({ ...none, rateLimits: 1, loginThrottles: 1 });
      // The account starts from zero failures again.
      expect((await attempt(h, email, PASSWORD)).status).toBe(200);
    });

    it("auth events are kept for AUTH_EVENTS_RETENTION, then pruned", async () => {
      const h = await openHarness(createHarness, { AUTH_EVENTS_RETENTION: "7d" });
      await signup(h); // one signup event
      h.clock.advance(6 * 86_400_000);
      expect((await h.pruneStale()).authEvents).toBe(0);
      h.clock.advance(2 * 86_400_000);
      expect((await h.pruneStale()).authEvents).toBe(1);
    });
  });
}
