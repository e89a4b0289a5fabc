import { describe, expect, it } from "vitest";
import {
  bearer,
  errorOf,
  json,
  login,
  PASSWORD,
  refresh,
  signup,
  uniqueEmail,
} from "../cases/helpers.ts";
import { openHarness } from "../harness/open.ts";
import type { HarnessFactory } from "../harness/types.ts";

/** NIST SP 800-63B password policy and password change. */
export function passwordCases(createHarness: HarnessFactory) {
  describe("password policy", () => {
    const signupWith = (
      h: Awaited<ReturnType<HarnessFactory>>,
      password: string,
      email = uniqueEmail(),
    ) => h.request("/v1/signup", json({ email, password }));

    it("refuses common and breached passwords with a clear reason", async () => {
      const h = await openHarness(createHarness);
      for (const password of ["password", "12345678", "iloveyou", "Password1", "qwertyuiop"]) {
        const err = await errorOf(await signupWith(h, password));
        expect(err, password).toMatchObject({ status: 400, error: "invalid_request" });
        expect(err.error_description, password).toMatch(/common|breached/i);
      }
    });

    it("refuses context words: the email's local part and the service's name", async () => {
      const h = await openHarness(createHarness);
      const email = uniqueEmail("margaret");
      const local = email.split("@")[0] as string;
      for (const password of [
        `${local}-2026!`,
        `My${local.toUpperCase()}pw`,
        "tessera-rocks-42",
        "I like Tessera a lot",
      ]) {
        const err = await errorOf(await signupWith(h, password, email));
        expect(err, password).toMatchObject({ status: 400, error: "invalid_request" });
        expect(err.error_description).toMatch(/email name|service/);
      }
    });

    it("counts code points after NFKC, accepts 64+ characters, no composition rules", async () => {
      const h = await openHarness(createHarness);
      // 8 code points as sent, 4 after NFKC composes each e + U+0301: too short.
      expect((await signupWith(h, "é".normalize("NFD").repeat(4))).status).toBe(400);
      // 3 ligatures as sent, 9 letters after NFKC: long enough.
      expect((await signupWith(h, "ﬃﬄﬃ")).status).toBe(201);
      expect((await signupWith(h, "all lower case words here")).status).toBe(201);
      expect((await signupWith(h, "a long passphrase ".repeat(5).slice(0, 90))).status).toBe(201);
    });

    it("PASSWORD_MIN_LENGTH raises the minimum (800-63B-4 asks 15 for single-factor)", async () => {
      const h = await openHarness(createHarness, { PASSWORD_MIN_LENGTH: "15" });
      const short = await errorOf(await signupWith(h, "fourteen chars"));
      expect(short).toMatchObject({ status: 400, error: "invalid_request" });
      expect(short.error_description).toContain("15");
      expect((await signupWith(h, "fifteen chars!!")).status).toBe(201);
    });

    it("refuses more than 1024 bytes with 400 before any hashing", async () => {
      const h = await openHarness(createHarness);
      const { email } = await signup(h);
      const before = h.hashCount();
      for (const res of [
        await signupWith(h, "ü".repeat(513)),
        await h.request("/v1/login", json({ email, password: "a".repeat(1025) })),
      ]) {
        expect(await errorOf(res)).toMatchObject({ status: 400, error: "invalid_request" });
      }
      expect(h.hashCount()).toBe(before);
    });
  });

  describe("POST /v1/password", () => {
    it("changes the password and revokes every other session, keeping this one", async () => {
      const h = await openHarness(createHarness);
      const { email, tokens } = await signup(h);
      const other = await login(h, email);
      const res = await h.request(
        "/v1/password",
        bearer(
          tokens.access_token,
          json({ current_password: PASSWORD, new_password: "a brand new passphrase" }),
        ),
      );
      expect(res.status).toBe(204);
      expect((await refresh(h, other.refresh_token)).status).toBe(400);
      expect((await refresh(h, tokens.refresh_token)).status).toBe(200);
      expect((await h.request("/v1/login", json({ email, password: PASSWORD }))).status).toBe(400);
      await login(h, email, "a brand new passphrase");
    });

    it("a sign-in still hashing when the password changes gets no session", async () => {
      const h = await openHarness(createHarness);
      const { email, tokens } = await signup(h);
      const hold = h.holdNextVerify();
      // The attacker's sign-in with the old password has verified it and is held there...
      const racing = h.request("/v1/login", json({ email, password: PASSWORD }));
      await hold.reached;
      // ...while the owner changes the password, revoking every other session.
      const change = await h.request(
        "/v1/password",
        bearer(
          tokens.access_token,
          json({ current_password: PASSWORD, new_password: "a brand new passphrase" }),
        ),
      );
      expect(change.status).toBe(204);
      hold.release();
      const res = await racing;
      expect(await errorOf(res)).toMatchObject({ status: 400, error: "invalid_grant" });
      const { sessions } = (await (
        await h.request("/v1/sessions", bearer(tokens.access_token))
      ).json()) as {
        sessions: unknown[];
      };
      expect(sessions).toHaveLength(1);
    });

    it("refuses a wrong current password, a weak new one, and anonymous callers", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const change = (body: unknown) =>
        h.request("/v1/password", bearer(tokens.access_token, json(body)));
      expect(
        await errorOf(
          await change({ current_password: "not it at all", new_password: "another fine phrase" }),
        ),
      ).toMatchObject({
        status: 400,
        error: "invalid_grant",
      });
      expect(
        await errorOf(await change({ current_password: PASSWORD, new_password: "password" })),
      ).toMatchObject({
        status: 400,
        error: "invalid_request",
      });
      expect(await errorOf(await change({ current_password: PASSWORD }))).toMatchObject({
        status: 400,
      });
      const anon = await h.request(
        "/v1/password",
        json({ current_password: PASSWORD, new_password: "x y z w v u t" }),
      );
      expect(anon.status).toBe(401);
    });
  });
}
