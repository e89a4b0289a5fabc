import { describe, expect, it } from "vitest";
import { openHarness } from "../harness/open.ts";
import type { HarnessFactory } from "../harness/types.ts";
import {
  bearer,
  errorOf,
  json,
  login,
  PASSWORD,
  signup,
  type TokenBody,
  uniqueEmail,
} from "./helpers.ts";

/** Signup, login and /v1/me. */
export function authCases(createHarness: HarnessFactory) {
  describe("signup, login, me", () => {
    it("signs up: 201, token response, user, no-store, request id", async () => {
      const h = await openHarness(createHarness);
      const email = uniqueEmail("ada");
      const res = await h.request("/v1/signup", json({ email, password: PASSWORD }));
      expect(res.status).toBe(201);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      expect(res.headers.get("X-Request-Id")).toBeTruthy();
      const body = (await res.json()) as TokenBody;
      expect(body).toMatchObject({
        token_type: "Bearer",
        expires_in: 900,
        refresh_token_expires_in: 30 * 86400,
        user: { email },
      });
      expect(typeof body.access_token).toBe("string");
      expect(body.refresh_token).toMatch(/^[\w-]{22}\.0\.[\w-]{43}$/);
      expect(JSON.stringify(body)).not.toContain("password");
    });

    it("normalises the email: trimmed and lower-cased", async () => {
      const h = await openHarness(createHarness);
      const email = uniqueEmail("Grace");
      const { tokens } = await signup(h, `  ${email.toUpperCase()}  `);
      expect(tokens.user?.email).toBe(email.toLowerCase());
      const again = await login(h, email.toLowerCase());
      expect(again.user?.id).toBe(tokens.user?.id);
    });

    it("refuses a second signup with the same email in any case or spacing: 409 user_exists", async () => {
      const h = await openHarness(createHarness);
      const email = uniqueEmail("dup");
      await signup(h, email);
      for (const variant of [email, email.toUpperCase(), ` ${email} `]) {
        const res = await h.request("/v1/signup", json({ email: variant, password: PASSWORD }));
        expect(await errorOf(res)).toMatchObject({ status: 409, error: "user_exists" });
      }
    });

    it("logs in and reads /v1/me with the access token", async () => {
      const h = await openHarness(createHarness);
      const { email, tokens } = await signup(h);
      const logged = await login(h, email);
      expect(logged.user).toEqual(tokens.user);
      const me = await h.request("/v1/me", bearer(logged.access_token));
      expect(me.status).toBe(200);
      expect(await me.json()).toEqual(tokens.user);
    });

    it("answers wrong password and unknown email identically", async () => {
      const h = await openHarness(createHarness);
      const { email } = await signup(h);
      const before = h.hashCount();
      const wrong = await h.request("/v1/login", json({ email, password: "not the password" }));
      expect(h.hashCount() - before).toBe(1);
      const unknown = await h.request(
        "/v1/login",
        json({ email: uniqueEmail("nobody"), password: "not the password" }),
      );
      // Same hashing cost: one scrypt derivation whether or not the account exists.
      expect(h.hashCount() - before).toBe(2);
      expect(wrong.status).toBe(400);
      expect(unknown.status).toBe(400);
      const [a, b] = [await wrong.json(), await unknown.json()];
      expect(a).toEqual({ error: "invalid_grant", error_description: "Invalid email or password" });
      expect(b).toEqual(a);
      const headerNames = (r: Response) =>
        [...r.headers.keys()].filter((k) => k !== "x-request-id").sort();
      expect(headerNames(unknown)).toEqual(headerNames(wrong));
    });

    it("logs in with the NFC or NFD spelling of the same password", async () => {
      const h = await openHarness(createHarness);
      const nfc = "pässwörd-Ångström".normalize("NFC");
      const { email } = await signup(h, uniqueEmail(), nfc);
      await expect(login(h, email, nfc.normalize("NFD"))).resolves.toBeTruthy();
    });

    it("enforces the password policy: ≥ 8 code points, ≤ 1024 bytes", async () => {
      const h = await openHarness(createHarness);
      const short = await h.request(
        "/v1/signup",
        json({ email: uniqueEmail(), password: "short" }),
      );
      expect(await errorOf(short)).toMatchObject({ status: 400, error: "invalid_request" });
      const huge = "ü".repeat(513); // 1026 bytes, 513 code points
      const tooLong = await h.request("/v1/signup", json({ email: uniqueEmail(), password: huge }));
      expect(await errorOf(tooLong)).toMatchObject({ status: 400, error: "invalid_request" });
      const loginLong = await h.request(
        "/v1/login",
        json({ email: uniqueEmail(), password: huge }),
      );
      expect(await errorOf(loginLong)).toMatchObject({ status: 400, error: "invalid_request" });
      // 8 emoji are 8 code points (16 UTF-16 units): accepted.
      const emoji = await h.request(
        "/v1/signup",
        json({ email: uniqueEmail(), password: "🔑".repeat(8) }),
      );
      expect(emoji.status).toBe(201);
    });

    it("validates fields: 400 invalid_request with issues", async () => {
      const h = await openHarness(createHarness);
      const cases: unknown[] = [
        {},
        { email: "ada@example.com" },
        { password: PASSWORD },
        { email: "not-an-email", password: PASSWORD },
        { email: 42, password: PASSWORD },
        { email: `${"a".repeat(250)}@example.com`, password: PASSWORD },
        [],
        "string",
        null,
      ];
      for (const body of cases) {
        const res = await h.request("/v1/signup", json(body));
        const err = await errorOf(res);
        expect(err, JSON.stringify(body)).toMatchObject({ status: 400, error: "invalid_request" });
        expect(typeof err.error_description).toBe("string");
      }
      const withIssues = (await (await h.request("/v1/login", json({}))).json()) as {
        issues: Array<{ path: string }>;
      };
      expect(withIssues.issues.map((i: { path: string }) => i.path).sort()).toEqual([
        "email",
        "password",
      ]);
    });

    it("never writes the password, its hash or the email to the log", async () => {
      const h = await openHarness(createHarness);
      const { email } = await signup(h);
      const logged = h.logs.join("\n");
      expect(logged).not.toContain(PASSWORD);
      expect(logged).not.toContain("$scrypt$");
      expect(logged).not.toContain(email);
    });
  });
}
