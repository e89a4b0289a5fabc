import { eq } from "drizzle-orm";
import { describe, expect, it, onTestFinished } from "vitest";
import { authEvents, emailChallenges, users } from "../../src/db/schema.ts";
import type { Mailbox, MailboxFactory, ReceivedMail } from "../harness/mailbox.ts";
import { openHarness } from "../harness/open.ts";
import type { Harness, HarnessFactory } from "../harness/types.ts";
import {
  basic,
  bearer,
  errorOf,
  form,
  json,
  PASSWORD,
  refresh,
  type TokenBody,
  uniqueEmail,
} from "./helpers.ts";

/**
 * What a runtime may supply beyond a mailbox (docs/design/accounts.md#transports).
 * `deadTransport`: an `EMAIL_TRANSPORT` value nothing listens behind, so every send fails at
 * once (default: a webhook to 127.0.0.1:1, which both runtimes can try).
 * `stalledTransport`: a mail server that accepts the connection and never answers until
 * `release`, to show that no answer waits for a send (the case is skipped without one).
 */
export type AccountEmailOptions = {
  deadTransport?: string;
  stalledTransport?: () => Promise<StalledTransport>;
};

export type StalledTransport = {
  env: Record<string, string>;
  /** Resolves once `count` connections (sends) have reached the server and are being held. */
  accepted(count: number): Promise<void>;
  /** Drops every held connection and stops accepting, so the held sends fail. */
  release(): Promise<void>;
};

type User = { id: string; email: string; email_verified: boolean; created_at: string };
type SignIn = TokenBody & { user: User };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NEW_PASSWORD = "a brand new passphrase 42";

/** What each kind of message is recognised by, as its reader would: the subject line. */
const SUBJECTS = {
  verify_email: /^\d{6} is your .+ verification code$/,
  reset_password: /^\d{6} is your .+ password reset code$/,
  otp: /^\d{6} is your .+ sign-in code$/,
  change_email: /^\d{6} is your .+ code to confirm your new address$/,
  email_changed_notice: /email address is changing/,
  signup_attempt: /tried to sign up/,
  account_deleted: /account was deleted/,
} as const;
type Kind = keyof typeof SUBJECTS;

/** The hosted page each kind's link opens (a sign-in code has no link). */
const LINK_PAGES: Partial<Record<Kind, string>> = {
  verify_email: "/verify-email",
  reset_password: "/reset-password",
  change_email: "/verify-email",
};

const post = (h: Harness, path: string, body: unknown, accessToken?: string) =>
  h.request(path, accessToken ? bearer(accessToken, json(body)) : json(body));

const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

/** Every header but the request id, which differs per request by design. */
const headersOf = (res: Response) =>
  Object.fromEntries([...res.headers].filter(([name]) => name.toLowerCase() !== "x-request-id"));

async function expectInvalidGrant(res: Response, what: string) {
  const error = await errorOf(res);
  expect(error, what).toMatchObject({
    status: 400,
    error: "invalid_grant",
    error_description: "The code or link is invalid, expired or already used",
  });
}

async function expectAccepted(res: Response) {
  expect(res.status).toBe(202);
  expect(res.headers.get("Cache-Control")).toBe("no-store");
  expect(await res.text()).toBe("{}");
}

async function expectSignIn(res: Response, email: string): Promise<SignIn> {
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get("Cache-Control")).toBe("no-store");
  const body = (await res.json()) as SignIn;
  expect(body).toMatchObject({ token_type: "Bearer", user: { email } });
  expect(typeof body.access_token).toBe("string");
  expect(typeof body.refresh_token).toBe("string");
  return body;
}

async function me(h: Harness, accessToken: string): Promise<User> {
  const res = await h.request("/v1/me", bearer(accessToken));
  expect(res.status).toBe(200);
  return (await res.json()) as User;
}

async function eventTypes(h: Harness, accessToken: string): Promise<string[]> {
  const res = await h.request("/v1/events", bearer(accessToken));
  expect(res.status).toBe(200);
  const { events } = (await res.json()) as { events: Array<{ type: string }> };
  return events.map((e) => e.type);
}

async function signupOk(h: Harness, email: string, password = PASSWORD): Promise<SignIn> {
  const res = await post(h, "/v1/signup", { email, password });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as SignIn;
}

const login = (h: Harness, email: string, password = PASSWORD) =>
  post(h, "/v1/login", { email, password });

/** Waits (real time, for a background send) until a log line matches. */
export async function waitForLog(
  h: Harness,
  match: (entry: Record<string, unknown>) => boolean,
  timeoutMs = 5000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = h.logs.map((line) => JSON.parse(line) as Record<string, unknown>).find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching log line within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A test's view of the mailbox: takes the next message of one kind to an address (others to
 * it wait their turn, since background sends may land in any order), checks what every
 * message of that kind must carry, and remembers each code, link token and address it saw so
 * the test can check they never reached the log.
 */
function inbox(mailbox: Mailbox, issuer: string) {
  const held: ReceivedMail[] = [];
  const secrets = new Set<string>();
  const take = async (to: string, kind: Kind, timeoutMs = 5000) => {
    const address = to.toLowerCase();
    const fits = (m: ReceivedMail) => m.to === address && SUBJECTS[kind].test(m.subject);
    const at = held.findIndex(fits);
    let mail = at >= 0 ? held.splice(at, 1)[0] : undefined;
    const deadline = Date.now() + timeoutMs;
    while (!mail) {
      const next = await mailbox.next(address, {
        timeoutMs: Math.max(1, deadline - Date.now()),
      });
      if (fits(next)) mail = next;
      else held.push(next);
    }
    secrets.add(address);
    const page = LINK_PAGES[kind];
    let token: string | undefined;
    if (kind === "otp" || page) {
      expect(mail.code, `${kind} code`).toMatch(/^\d{6}$/);
      const code = mail.code as string;
      secrets.add(code);
      expect(mail.subject.startsWith(code), "the code leads the subject").toBe(true);
      expect(mail.html).toContain(code);
    } else {
      expect(mail.code, `${kind} has no code`).toBeUndefined();
    }
    if (page) {
      const url = new URL(mail.link as string);
      expect(`${url.origin}${url.pathname}`).toBe(`${issuer}${page}`);
      token = url.searchParams.get("token") ?? undefined;
      expect(token).toMatch(/^[\w-]{43}$/);
      secrets.add(token as string);
      expect(mail.html).toContain(token);
    } else {
      expect(mail.link, `${kind} has no link`).toBeUndefined();
    }
    return { ...mail, code: mail.code as string, token: token as string };
  };
  return {
    take,
    /** Messages to `to` that arrived and were not taken. */
    pending: async (to: string) =>
      (await mailbox.pending(to)) + held.filter((m) => m.to === to.toLowerCase()).length,
    /**
     * No code, link token, password or address in any log line. For real transports only:
     * `EMAIL_TRANSPORT=log` shows links and codes in development by design.
     */
    expectCleanLogs(h: Harness, more: string[] = []) {
      const text = h.logs.join("\n");
      const all = [...secrets, PASSWORD, NEW_PASSWORD, ...more];
      const leaked = all.filter((secret) => text.includes(secret));
      expect(leaked, "secrets in the log").toEqual([]);
    },
  };
}

/**
 * The accounts-and-email flows end to end (docs/design/accounts.md): requests over HTTP, every
 * message received by a real mailbox, every link and code used as its reader would.
 */
export function accountEmailCases(
  createHarness: HarnessFactory,
  openMailbox: MailboxFactory,
  options: AccountEmailOptions = {},
) {
  /** A mailbox and a harness sending to it, both closed when the test finishes. */
  async function open(env: Record<string, string> = {}) {
    const mailbox = await openMailbox();
    onTestFinished(() => mailbox.close());
    const h = await openHarness(createHarness, { ...mailbox.env, ...env });
    return { h, mail: inbox(mailbox, h.config.issuer) };
  }

  describe("accounts and email: verification", () => {
    it("signup mails a link and code; the link verifies and signs in once", async () => {
      const { h, mail } = await open({ APP_NAME: "Acme ID" });
      const email = uniqueEmail("verify");
      const signed = await signupOk(h, email);
      expect(signed.user.email_verified).toBe(false);
      expect((await me(h, signed.access_token)).email_verified).toBe(false);

      const message = await mail.take(email, "verify_email");
      expect(message.subject).toBe(`${message.code} is your Acme ID verification code`);
      expect(message.from).toContain("Acme ID");
      expect(message.text).toContain(message.code);
      expect(message.text).toContain(message.link);
      const verified = await expectSignIn(
        await post(h, "/v1/verify-email", { token: message.token }),
        email,
      );
      expect(verified.user).toMatchObject({ id: signed.user.id, email_verified: true });
      // A new session: its refresh token works.
      expect((await refresh(h, verified.refresh_token)).status).toBe(200);
      expect((await me(h, signed.access_token)).email_verified).toBe(true);
      expect(await eventTypes(h, verified.access_token)).toContain("email_verified");

      await expectInvalidGrant(
        await post(h, "/v1/verify-email", { token: message.token }),
        "link used twice",
      );
      await expectInvalidGrant(
        await post(h, "/v1/verify-email", { email, code: message.code }),
        "code of a used message",
      );
      expect(await mail.pending(email)).toBe(0);
      mail.expectCleanLogs(h);
    });

    it("the code verifies too (any case of the address); second use refused", async () => {
      const { h, mail } = await open();
      const email = uniqueEmail("code");
      const other = uniqueEmail("other");
      await signupOk(h, email);
      await signupOk(h, other);
      const { code } = await mail.take(email, "verify_email");
      await mail.take(other, "verify_email");
      // The right code for another address proves nothing.
      await expectInvalidGrant(
        await post(h, "/v1/verify-email", { email: other, code }),
        "code of another address",
      );
      const verified = await expectSignIn(
        await post(h, "/v1/verify-email", { email: ` ${email.toUpperCase()} `, code }),
        email,
      );
      expect(verified.user.email_verified).toBe(true);
      await expectInvalidGrant(
        await post(h, "/v1/verify-email", { email, code }),
        "code used twice",
      );
      expect(await eventTypes(h, verified.access_token)).toContain("email_verified");
      mail.expectCleanLogs(h);
    });

    it("a new send replaces the previous message: its link and code fail, the new ones work", async () => {
      const { h, mail } = await open();
      const email = uniqueEmail("resend");
      await signupOk(h, email);
      const first = await mail.take(email, "verify_email");
      await expectAccepted(await post(h, "/v1/verify-email/send", { email }));
      const second = await mail.take(email, "verify_email");
      expect(second.token).not.toBe(first.token);

      await expectInvalidGrant(
        await post(h, "/v1/verify-email", { token: first.token }),
        "replaced link",
      );
      if (first.code !== second.code) {
        await expectInvalidGrant(
          await post(h, "/v1/verify-email", { email, code: first.code }),
          "replaced code",
        );
      }
      await expectSignIn(await post(h, "/v1/verify-email", { email, code: second.code }), email);
      // Verified now: another send is accepted alike and mails nothing.
      await expectAccepted(await post(h, "/v1/verify-email/send", { email }));
      expect(await mail.pending(email)).toBe(0);
      mail.expectCleanLogs(h);
    });

    it("expiry by the clock: codes end after 10 minutes while the link works; links after 24 hours", async () => {
      const { h, mail } = await open();
      const [a, b, c, d] = ["a", "b", "c", "d"].map((label) => uniqueEmail(`expiry-${label}`));
      const sent: Record<string, Awaited<ReturnType<typeof mail.take>>> = {};
      for (const email of [a, b, c, d] as string[]) {
        await signupOk(h, email);
        sent[email] = await mail.take(email, "verify_email");
      }
      const at = (email: string) => sent[email] as Awaited<ReturnType<typeof mail.take>>;

      h.clock.advance(10 * MINUTE - 1000);
      await expectSignIn(
        await post(h, "/v1/verify-email", { email: a, code: at(a as string).code }),
        a as string,
      );
      h.clock.advance(1000); // 10 minutes
      await expectInvalidGrant(
        await post(h, "/v1/verify-email", { email: b, code: at(b as string).code }),
        "code at 10 minutes",
      );
      await expectSignIn(
        await post(h, "/v1/verify-email", { token: at(b as string).token }),
        b as string,
      );

      h.clock.advance(24 * HOUR - 10 * MINUTE - 1000); // 24 h − 1 s
      await expectSignIn(
        await post(h, "/v1/verify-email", { token: at(c as string).token }),
        c as string,
      );
      h.clock.advance(1000); // 24 h
      await expectInvalidGrant(
        await post(h, "/v1/verify-email", { token: at(d as string).token }),
        "link at 24 hours",
      );
      mail.expectCleanLogs(h);
    });

    it("five wrong codes end the challenge: the right code and the link fail after; four do not", async () => {
      const { h, mail } = await open();
      const email = uniqueEmail("guess");
      const lucky = uniqueEmail("lucky");
      await signupOk(h, email);
      await signupOk(h, lucky);
      const message = await mail.take(email, "verify_email");
      const luckyMessage = await mail.take(lucky, "verify_email");

      for (let i = 0; i < 5; i++) {
        await expectInvalidGrant(
          await post(h, "/v1/verify-email", { email, code: wrongCode(message.code) }),
          `wrong code ${i + 1}`,
        );
      }
      await expectInvalidGrant(
        await post(h, "/v1/verify-email", { email, code: message.code }),
        "right code after five wrong ones",
      );
      await expectInvalidGrant(
        await post(h, "/v1/verify-email", { token: message.token }),
        "link after five wrong codes",
      );

      for (let i = 0; i < 4; i++) {
        await expectInvalidGrant(
          await post(h, "/v1/verify-email", { email: lucky, code: wrongCode(luckyMessage.code) }),
          `wrong code ${i + 1}`,
        );
      }
      await expectSignIn(
        await post(h, "/v1/verify-email", { email: lucky, code: luckyMessage.code }),
        lucky,
      );

      // A new send starts over.
      await expectAccepted(await post(h, "/v1/verify-email/send", { email }));
      const fresh = await mail.take(email, "verify_email");
      await expectSignIn(await post(h, "/v1/verify-email", { email, code: fresh.code }), email);
      mail.expectCleanLogs(h);
    });
  });

  describe("accounts and email: racing uses", () => {
    it("parallel wrong guesses still end the code after five; one link or code used twice at once wins once", async () => {
      const { h, mail } = await open();
      const [guessed, clicked, typed, reset] = ["guessed", "clicked", "typed", "reset"].map(
        (label) => uniqueEmail(`race-${label}`),
      ) as [string, string, string, string];
      for (const email of [guessed, clicked, typed, reset]) await signupOk(h, email);
      const g = await mail.take(guessed, "verify_email");
      const c = await mail.take(clicked, "verify_email");
      const t = await mail.take(typed, "verify_email");
      await mail.take(reset, "verify_email");

      const wrong = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          post(h, "/v1/verify-email", {
            email: guessed,
            code: wrongCode(String((Number(g.code) + i) % 1_000_000).padStart(6, "0")),
          }),
        ),
      );
      expect(wrong.map((res) => res.status)).toEqual(Array(10).fill(400));
      await expectInvalidGrant(
        await post(h, "/v1/verify-email", { email: guessed, code: g.code }),
        "right code after ten parallel wrong ones",
      );

      const statuses = async (requests: Array<Promise<Response>>) =>
        (await Promise.all(requests)).map((res) => res.status).sort();
      const twice = (body: unknown) => [
        post(h, "/v1/verify-email", body),
        post(h, "/v1/verify-email", body),
      ];
      expect(await statuses(twice({ token: c.token }))).toEqual([200, 400]);
      expect(await statuses(twice({ email: typed, code: t.code }))).toEqual([200, 400]);

      await expectAccepted(await post(h, "/v1/password/forgot", { email: reset }));
      const r = await mail.take(reset, "reset_password");
      const resets = [NEW_PASSWORD, `${NEW_PASSWORD} too`].map((new_password) =>
        post(h, "/v1/password/reset", { token: r.token, new_password }),
      );
      expect(await statuses(resets)).toEqual([200, 400]);
      mail.expectCleanLogs(h, [`${NEW_PASSWORD} too`]);
    });
  });

  describe("accounts and email: password reset", () => {
    it("by link: a weak password leaves the link usable; every other session ends; the new password works", async () => {
      const { h, mail } = await open();
      const email = uniqueEmail("reset");
      const signed = await signupOk(h, email);
      await mail.take(email, "verify_email");
      const other = (await (await login(h, email)).json()) as SignIn;

      await expectAccepted(await post(h, "/v1/password/forgot", { email }));
      const message = await mail.take(email, "reset_password");
      expect(message.text).toContain(message.link);

      for (const weak of ["short", "password123", email]) {
        const refused = await post(h, "/v1/password/reset", {
          token: message.token,
          new_password: weak,
        });
        expect(await errorOf(refused), weak).toMatchObject({
          status: 400,
          error: "invalid_request",
        });
      }
      const reset = await expectSignIn(
        await post(h, "/v1/password/reset", { token: message.token, new_password: NEW_PASSWORD }),
        email,
      );
      expect(reset.user).toMatchObject({ id: signed.user.id, email_verified: true });

      for (const old of [signed.refresh_token, other.refresh_token]) {
        expect(await errorOf(await refresh(h, old))).toMatchObject({
          status: 400,
          error: "invalid_grant",
        });
      }
      expect((await refresh(h, reset.refresh_token)).status).toBe(200);
      expect(await errorOf(await login(h, email))).toMatchObject({
        status: 400,
        error: "invalid_grant",
      });
      await expectSignIn(await login(h, email, NEW_PASSWORD), email);

      await expectInvalidGrant(
        await post(h, "/v1/password/reset", { token: message.token, new_password: NEW_PASSWORD }),
        "link used twice",
      );
      expect(await eventTypes(h, reset.access_token)).toContain("password_reset");
      expect(await mail.pending(email)).toBe(0);
      mail.expectCleanLogs(h);
    });

    it("by code: a weak password does not count as a try; other sessions end; the sign-in delay is lifted", async () => {
      const { h, mail } = await open({ EMAIL_VERIFICATION: "off" });
      const email = uniqueEmail("reset-code");
      const signed = await signupOk(h, email);
      // Someone guessed at the password: the account is in its sign-in delay.
      for (let i = 0; i < 5; i++) {
        expect((await errorOf(await login(h, email, "a wrong guess"))).error).toBe("invalid_grant");
      }
      expect((await errorOf(await login(h, email, "another guess"))).status).toBe(429);
      await expectAccepted(await post(h, "/v1/password/forgot", { email }));
      const { code } = await mail.take(email, "reset_password");

      // More weak passwords than the code has tries: none of them uses one up.
      for (let i = 0; i < 6; i++) {
        const refused = await post(h, "/v1/password/reset", {
          email,
          code,
          new_password: "short",
        });
        expect((await errorOf(refused)).error).toBe("invalid_request");
      }
      const reset = await expectSignIn(
        await post(h, "/v1/password/reset", { email, code, new_password: NEW_PASSWORD }),
        email,
      );
      expect(reset.user.email_verified).toBe(true);
      expect((await errorOf(await refresh(h, signed.refresh_token))).error).toBe("invalid_grant");
      expect((await refresh(h, reset.refresh_token)).status).toBe(200);
      // The reset lifted the delay (no clock moved): the new password signs in at once.
      await expectSignIn(await login(h, email, NEW_PASSWORD), email);
      expect((await login(h, email)).status).toBe(400);
      await expectInvalidGrant(
        await post(h, "/v1/password/reset", { email, code, new_password: `${NEW_PASSWORD}!` }),
        "code used twice",
      );
      await expectSignIn(await login(h, email, NEW_PASSWORD), email);
      expect(await eventTypes(h, reset.access_token)).toContain("password_reset");
      mail.expectCleanLogs(h);
    });

    it("expiry by the clock: reset codes end after 10 minutes, links after 15", async () => {
      const { h, mail } = await open({ EMAIL_VERIFICATION: "off" });
      const [a, b, c] = ["a", "b", "c"].map((label) => uniqueEmail(`reset-${label}`)) as [
        string,
        string,
        string,
      ];
      const sent = new Map<string, Awaited<ReturnType<typeof mail.take>>>();
      for (const email of [a, b, c]) {
        await signupOk(h, email);
        await expectAccepted(await post(h, "/v1/password/forgot", { email }));
        sent.set(email, await mail.take(email, "reset_password"));
      }
      const at = (email: string) => sent.get(email) as Awaited<ReturnType<typeof mail.take>>;

      h.clock.advance(10 * MINUTE);
      await expectInvalidGrant(
        await post(h, "/v1/password/reset", {
          email: a,
          code: at(a).code,
          new_password: NEW_PASSWORD,
        }),
        "reset code at 10 minutes",
      );
      await expectSignIn(
        await post(h, "/v1/password/reset", { token: at(a).token, new_password: NEW_PASSWORD }),
        a,
      );
      h.clock.advance(5 * MINUTE - 1000); // 15 min − 1 s
      await expectSignIn(
        await post(h, "/v1/password/reset", { token: at(b).token, new_password: NEW_PASSWORD }),
        b,
      );
      h.clock.advance(1000); // 15 min
      await expectInvalidGrant(
        await post(h, "/v1/password/reset", { token: at(c).token, new_password: NEW_PASSWORD }),
        "reset link at 15 minutes",
      );
      await expectSignIn(await login(h, c), c);
      mail.expectCleanLogs(h);
    });

    it("a reset link does not verify an address and a verification link does not reset a password", async () => {
      const { h, mail } = await open();
      const email = uniqueEmail("purposes");
      await signupOk(h, email);
      const verify = await mail.take(email, "verify_email");
      await expectAccepted(await post(h, "/v1/password/forgot", { email }));
      const reset = await mail.take(email, "reset_password");

      await expectInvalidGrant(
        await post(h, "/v1/verify-email", { token: reset.token }),
        "reset link at verify-email",
      );
      await expectInvalidGrant(
        await post(h, "/v1/password/reset", { token: verify.token, new_password: NEW_PASSWORD }),
        "verification link at password/reset",
      );
      // Neither was used up by the wrong endpoint.
      await expectSignIn(await post(h, "/v1/verify-email", { token: verify.token }), email);
      await expectSignIn(
        await post(h, "/v1/password/reset", { token: reset.token, new_password: NEW_PASSWORD }),
        email,
      );
      mail.expectCleanLogs(h);
    });
  });

  describe("accounts and email: passwordless codes", () => {
    it("an existing account gets a sign-in code; it signs in once and verifies the address", async () => {
      const { h, mail } = await open();
      const email = uniqueEmail("otp");
      const signed = await signupOk(h, email);
      const verification = await mail.take(email, "verify_email");
      await expectSignIn(
        await post(h, "/v1/verify-email", { email, code: verification.code }),
        email,
      );

      await expectAccepted(await post(h, "/v1/otp/send", { email }));
      const { code, text } = await mail.take(email, "otp");
      expect(text).toContain(code);
      const otp = await expectSignIn(await post(h, "/v1/otp/verify", { email, code }), email);
      expect(otp.user).toMatchObject({ id: signed.user.id, email_verified: true });
      expect((await refresh(h, otp.refresh_token)).status).toBe(200);
      await expectInvalidGrant(await post(h, "/v1/otp/verify", { email, code }), "code used twice");
      expect(await eventTypes(h, otp.access_token)).toContain("otp_sign_in");
      // The password still works.
      await expectSignIn(await login(h, email), email);
      mail.expectCleanLogs(h);
    });

    it("pre-hijacking: a code for a never-verified account ends the password and sessions its signup made", async () => {
      const { h, mail } = await open();
      const email = uniqueEmail("victim");
      // Someone signs up with an address that is not theirs (optional verification: signed in).
      const squatter = await signupOk(h, email, "the squatter's passphrase");
      await mail.take(email, "verify_email");
      // The address's owner signs in with an emailed code.
      await expectAccepted(await post(h, "/v1/otp/send", { email }));
      const { code } = await mail.take(email, "otp");
      const owner = await expectSignIn(await post(h, "/v1/otp/verify", { email, code }), email);
      expect(owner.user).toMatchObject({ id: squatter.user.id, email_verified: true });
      // The squatter's session and password are gone; the owner's session works.
      expect((await refresh(h, squatter.refresh_token)).status).toBe(400);
      expect((await errorOf(await login(h, email, "the squatter's passphrase"))).error).toBe(
        "invalid_grant",
      );
      expect((await refresh(h, owner.refresh_token)).status).toBe(200);
      mail.expectCleanLogs(h);
    });

    it("create_user: an unknown address gets a code only when asked; the account has no password", async () => {
      const { h, mail } = await open();
      const email = uniqueEmail("passwordless");
      const withoutCreate = await post(h, "/v1/otp/send", { email });
      const withCreate = await post(h, "/v1/otp/send", { email, create_user: true });
      expect(withCreate.status).toBe(withoutCreate.status);
      expect(headersOf(withCreate)).toEqual(headersOf(withoutCreate));
      await expectAccepted(withoutCreate);
      await expectAccepted(withCreate);
      const { code } = await mail.take(email, "otp");
      expect(await mail.pending(email)).toBe(0); // the send without create_user mailed nothing

      const otp = await expectSignIn(
        await post(h, "/v1/otp/verify", { email: email.toUpperCase(), code }),
        email,
      );
      expect(otp.user.email_verified).toBe(true);
      expect(await me(h, otp.access_token)).toMatchObject({ email, email_verified: true });
      const events = await eventTypes(h, otp.access_token);
      expect(events).toContain("signup");
      expect(events).toContain("otp_sign_in");

      // Password login fails exactly like a wrong password (and like an unknown address).
      const known = uniqueEmail("known");
      await signupOk(h, known);
      const wrong = await errorOf(await login(h, known, "not the password"));
      const unknown = await errorOf(await login(h, uniqueEmail("nobody")));
      for (const password of [PASSWORD, "any other password"]) {
        expect(await errorOf(await login(h, email, password))).toEqual(wrong);
      }
      expect(unknown).toEqual(wrong);

      // Its codes end after 10 minutes like every code.
      await expectAccepted(await post(h, "/v1/otp/send", { email }));
      const late = await mail.take(email, "otp");
      h.clock.advance(10 * MINUTE);
      await expectInvalidGrant(
        await post(h, "/v1/otp/verify", { email, code: late.code }),
        "sign-in code at 10 minutes",
      );

      // A password reset gives it a password.
      await expectAccepted(await post(h, "/v1/password/forgot", { email }));
      const reset = await mail.take(email, "reset_password");
      await expectSignIn(
        await post(h, "/v1/password/reset", { token: reset.token, new_password: NEW_PASSWORD }),
        email,
      );
      await expectSignIn(await login(h, email, NEW_PASSWORD), email);
      mail.expectCleanLogs(h, [known]);
    });
  });

  describe("accounts and email: email change", () => {
    it("code to the new address, notice to the old; confirmed by code; sign-in moves with it", async () => {
      const { h, mail } = await open();
      const email = uniqueEmail("mover");
      const next = uniqueEmail("moved");
      const signed = await signupOk(h, email);
      const verify = await mail.take(email, "verify_email");
      await expectAccepted(await post(h, "/v1/password/forgot", { email }));
      const reset = await mail.take(email, "reset_password");

      const res = await post(
        h,
        "/v1/email",
        { new_email: next, password: PASSWORD },
        signed.access_token,
      );
      await expectAccepted(res);
      const message = await mail.take(next, "change_email");
      const notice = await mail.take(email, "email_changed_notice");
      expect(notice.text).not.toContain(next);

      const confirmed = await h.request(
        "/v1/email/confirm",
        bearer(signed.access_token, json({ code: message.code })),
      );
      expect(confirmed.status).toBe(200);
      expect(await confirmed.json()).toMatchObject({
        id: signed.user.id,
        email: next,
        email_verified: true,
      });
      // The old address is told where the account went, without the full new address.
      const moved = await mail.take(email, "email_changed_notice");
      expect(moved.text).not.toContain(next);

      expect(await me(h, signed.access_token)).toMatchObject({ email: next, email_verified: true });
      // Messages sent to the old address before the move prove nothing now.
      await expectInvalidGrant(
        await post(h, "/v1/verify-email", { token: verify.token }),
        "verification link of the old address",
      );
      await expectInvalidGrant(
        await post(h, "/v1/password/reset", { token: reset.token, new_password: NEW_PASSWORD }),
        "reset link of the old address",
      );
      await expectSignIn(await login(h, next), next);
      expect((await errorOf(await login(h, email))).error).toBe("invalid_grant");
      await expectInvalidGrant(
        await h.request(
          "/v1/email/confirm",
          bearer(signed.access_token, json({ code: message.code })),
        ),
        "code used twice",
      );
      expect(await eventTypes(h, signed.access_token)).toContain("email_changed");
      expect(await mail.pending(email)).toBe(0);
      expect(await mail.pending(next)).toBe(0);
      mail.expectCleanLogs(h);
    });

    it("needs the right password (400 invalid_grant); confirms by link; a taken address gets no mail", async () => {
      const { h, mail } = await open();
      const email = uniqueEmail("changer");
      const next = uniqueEmail("target");
      const taken = uniqueEmail("holder");
      const signed = await signupOk(h, email);
      await signupOk(h, taken);
      await mail.take(email, "verify_email");
      await mail.take(taken, "verify_email");
      const change = (body: unknown) => post(h, "/v1/email", body, signed.access_token);

      expect(await errorOf(await change({ new_email: next, password: "wrong password" }))).toEqual(
        expect.objectContaining({ status: 400, error: "invalid_grant" }),
      );
      expect(await errorOf(await change({ new_email: next }))).toMatchObject({
        status: 400,
        error: "invalid_request",
      });
      expect(await errorOf(await change({ new_email: email, password: PASSWORD }))).toMatchObject({
        status: 400,
        error: "invalid_request",
      });
      expect(await mail.pending(next)).toBe(0);
      expect(await mail.pending(email)).toBe(0);

      // An address another account holds: the same 202, and its owner hears nothing.
      const toTaken = await change({ new_email: taken, password: PASSWORD });
      const toFree = await change({ new_email: next, password: PASSWORD });
      expect(headersOf(toTaken)).toEqual(headersOf(toFree));
      await expectAccepted(toTaken);
      await expectAccepted(toFree);
      await mail.take(email, "email_changed_notice");
      await mail.take(email, "email_changed_notice");
      const message = await mail.take(next, "change_email");
      expect(await mail.pending(taken)).toBe(0);

      const confirmed = await h.request(
        "/v1/email/confirm",
        bearer(signed.access_token, json({ token: message.token })),
      );
      expect(confirmed.status).toBe(200);
      expect(await confirmed.json()).toMatchObject({ email: next, email_verified: true });
      await mail.take(email, "email_changed_notice");
      await expectSignIn(await login(h, next), next);
      mail.expectCleanLogs(h);
    });
  });

  describe("accounts and email: email change replaced", () => {
    it("a second change request replaces the first: its code and link fail, the new ones work", async () => {
      const { h, mail } = await open({ EMAIL_VERIFICATION: "off" });
      const email = uniqueEmail("twice");
      const [first, second] = [uniqueEmail("first"), uniqueEmail("second")];
      const signed = await signupOk(h, email);
      const change = (new_email: string) =>
        post(h, "/v1/email", { new_email, password: PASSWORD }, signed.access_token);
      const confirm = (body: unknown) => post(h, "/v1/email/confirm", body, signed.access_token);
      await expectAccepted(await change(first));
      const a = await mail.take(first, "change_email");
      await expectAccepted(await change(second));
      const b = await mail.take(second, "change_email");
      await mail.take(email, "email_changed_notice");
      await mail.take(email, "email_changed_notice");

      await expectInvalidGrant(await confirm({ token: a.token }), "replaced link");
      if (a.code !== b.code) {
        await expectInvalidGrant(await confirm({ code: a.code }), "replaced code");
      }
      // Another account cannot use this account's code.
      const stranger = await signupOk(h, uniqueEmail("stranger"));
      await expectInvalidGrant(
        await post(h, "/v1/email/confirm", { code: b.code }, stranger.access_token),
        "code confirmed by another account",
      );
      const res = await confirm({ code: b.code });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id: signed.user.id, email: second });
      await mail.take(email, "email_changed_notice");
      expect(await mail.pending(first)).toBe(0);
      mail.expectCleanLogs(h);
    });

    it("an address another account took before the confirmation: 409 user_exists, nothing moves", async () => {
      const { h, mail } = await open({ EMAIL_VERIFICATION: "off" });
      const email = uniqueEmail("late");
      const next = uniqueEmail("contested");
      const signed = await signupOk(h, email);
      await expectAccepted(
        await post(h, "/v1/email", { new_email: next, password: PASSWORD }, signed.access_token),
      );
      const { code } = await mail.take(next, "change_email");
      await mail.take(email, "email_changed_notice");
      await signupOk(h, next, NEW_PASSWORD);

      const res = await post(h, "/v1/email/confirm", { code }, signed.access_token);
      expect(await errorOf(res)).toMatchObject({ status: 409, error: "user_exists" });
      expect((await me(h, signed.access_token)).email).toBe(email);
      await expectSignIn(await login(h, email), email);
      await expectSignIn(await login(h, next, NEW_PASSWORD), next);
      expect(await mail.pending(email)).toBe(0);
      mail.expectCleanLogs(h);
    });
  });

  describe("accounts and email: account deletion", () => {
    it("DELETE /v1/me needs the password; then every token fails and the address is free again", async () => {
      const { h, mail } = await open({ RATE_LIMIT_EMAIL: "2/1h" });
      const api = await h.registerClient({ name: "api", grantTypes: ["client_credentials"] });
      const introspect = async (token: string) => {
        const res = await h.request("/oauth/introspect", {
          ...form({ token }),
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            Authorization: basic(api.clientId, api.clientSecret as string),
          },
        });
        expect(res.status).toBe(200);
        return (await res.json()) as { active: boolean };
      };
      const email = uniqueEmail("leaver");
      const signed = await signupOk(h, email);
      await mail.take(email, "verify_email");
      const other = (await (await login(h, email)).json()) as SignIn;
      expect((await introspect(signed.access_token)).active).toBe(true);
      // The address's send budget is used up.
      for (let i = 0; i < 2; i++) {
        await expectAccepted(await post(h, "/v1/password/forgot", { email }));
        await mail.take(email, "reset_password");
      }
      expect((await post(h, "/v1/password/forgot", { email })).status).toBe(429);

      const del = (body?: unknown) =>
        h.request(
          "/v1/me",
          bearer(
            signed.access_token,
            body === undefined ? { method: "DELETE" } : { ...json(body), method: "DELETE" },
          ),
        );
      expect(await errorOf(await del())).toMatchObject({ status: 400, error: "invalid_request" });
      expect(await errorOf(await del({}))).toMatchObject({ status: 400, error: "invalid_request" });
      expect(await errorOf(await del({ password: "wrong password" }))).toMatchObject({
        status: 400,
        error: "invalid_grant",
      });
      expect((await me(h, signed.access_token)).email).toBe(email);

      const deleted = await del({ password: PASSWORD });
      expect(deleted.status).toBe(204);
      expect(await deleted.text()).toBe("");

      for (const token of [signed.refresh_token, other.refresh_token]) {
        expect(await errorOf(await refresh(h, token))).toMatchObject({
          status: 400,
          error: "invalid_grant",
        });
      }
      for (const token of [signed.access_token, other.access_token, other.refresh_token]) {
        expect(await introspect(token)).toEqual({ active: false });
      }
      const gone = await h.request("/v1/me", bearer(other.access_token));
      expect(await errorOf(gone)).toMatchObject({ status: 401, error: "invalid_token" });
      expect((await errorOf(await login(h, email))).error).toBe("invalid_grant");
      await mail.take(email, "account_deleted");

      // The deleted account's still-unexpired access token reads no events any more.
      const events = await h.request("/v1/events", bearer(signed.access_token));
      expect(await errorOf(events)).toMatchObject({ status: 401, error: "invalid_token" });
      // As an operator would see the database: the same one row, and nothing else of the user.
      const rows = await h.db
        .select()
        .from(authEvents)
        .where(eq(authEvents.userId, signed.user.id));
      expect(rows.map((r) => r.type)).toEqual(["account_deleted"]);
      expect(await h.db.select().from(users).where(eq(users.id, signed.user.id))).toEqual([]);
      expect(
        await h.db.select().from(emailChallenges).where(eq(emailChallenges.userId, signed.user.id)),
      ).toEqual([]);

      const again = await signupOk(h, email, NEW_PASSWORD);
      expect(again.user.id).not.toBe(signed.user.id);
      expect(again.user.email_verified).toBe(false);
      await mail.take(email, "verify_email");
      // Its send counter went with it.
      await expectAccepted(await post(h, "/v1/verify-email/send", { email }));
      await mail.take(email, "verify_email");
      mail.expectCleanLogs(h);
    });

    it("a passwordless account deletes with a sign-in of the last 5 minutes, not an older one", async () => {
      const { h, mail } = await open();
      const email = uniqueEmail("no-password");
      const signIn = async () => {
        await expectAccepted(await post(h, "/v1/otp/send", { email, create_user: true }));
        const { code } = await mail.take(email, "otp");
        return expectSignIn(await post(h, "/v1/otp/verify", { email, code }), email);
      };
      const next = uniqueEmail("no-password-moved");
      const old = await signIn();
      h.clock.advance(5 * MINUTE + 1000);
      const stale = await h.request("/v1/me", bearer(old.access_token, { method: "DELETE" }));
      expect(await errorOf(stale)).toMatchObject({ status: 403, error: "forbidden" });
      const staleChange = await post(h, "/v1/email", { new_email: next }, old.access_token);
      expect(await errorOf(staleChange)).toMatchObject({ status: 403, error: "forbidden" });
      expect(await mail.pending(next)).toBe(0);

      // A fresh sign-in moves the address without a password, then deletes the account.
      const fresh = await signIn();
      await expectAccepted(await post(h, "/v1/email", { new_email: next }, fresh.access_token));
      const { code } = await mail.take(next, "change_email");
      await mail.take(email, "email_changed_notice");
      const moved = await post(h, "/v1/email/confirm", { code }, fresh.access_token);
      expect(await moved.json()).toMatchObject({ email: next, email_verified: true });
      await mail.take(email, "email_changed_notice");

      const deleted = await h.request("/v1/me", bearer(fresh.access_token, { method: "DELETE" }));
      expect(deleted.status).toBe(204);
      expect((await errorOf(await refresh(h, fresh.refresh_token))).error).toBe("invalid_grant");
      expect((await errorOf(await refresh(h, old.refresh_token))).error).toBe("invalid_grant");
      await mail.take(next, "account_deleted");
      expect(await mail.pending(email)).toBe(0);
      mail.expectCleanLogs(h);
    });
  });

  describe("accounts and email: EMAIL_VERIFICATION", () => {
    it("required: 202 alike for new and taken addresses; the owner is told; login 403 until verified", async () => {
      const { h, mail } = await open({ EMAIL_VERIFICATION: "required" });
      const email = uniqueEmail("required");
      const first = await post(h, "/v1/signup", { email, password: PASSWORD });
      const second = await post(h, "/v1/signup", { email, password: NEW_PASSWORD });
      const fresh = await post(h, "/v1/signup", {
        email: uniqueEmail("fresh"),
        password: PASSWORD,
      });
      for (const res of [first, second, fresh]) {
        expect(res.status).toBe(202);
        expect(await res.clone().json()).toEqual({ verification: "sent" });
        expect(headersOf(res)).toEqual(headersOf(first));
      }
      const message = await mail.take(email, "verify_email");
      const attempt = await mail.take(email, "signup_attempt");
      expect(attempt.link).toBeUndefined();

      // Only the right password learns that the address is unproven.
      expect(await errorOf(await login(h, email))).toMatchObject({
        status: 403,
        error: "email_not_verified",
      });
      expect(await errorOf(await login(h, email, NEW_PASSWORD))).toMatchObject({
        status: 400,
        error: "invalid_grant",
      });
      const verified = await expectSignIn(
        await post(h, "/v1/verify-email", { email, code: message.code }),
        email,
      );
      expect(verified.user.email_verified).toBe(true);
      const logged = await expectSignIn(await login(h, email), email);
      expect(logged.user.email_verified).toBe(true);
      // The second signup changed nothing.
      expect((await login(h, email, NEW_PASSWORD)).status).toBe(400);
      expect(await mail.pending(email)).toBe(0);
      mail.expectCleanLogs(h);
    });

    it("off: signup answers 201 and mails nothing; verify-email/send mails nothing", async () => {
      const { h, mail } = await open({ EMAIL_VERIFICATION: "off" });
      const email = uniqueEmail("off");
      const signed = await signupOk(h, email);
      expect(signed.user.email_verified).toBe(false);
      await expectAccepted(await post(h, "/v1/verify-email/send", { email }));
      expect(await mail.pending(email)).toBe(0);
      await expectSignIn(await login(h, email), email);
      mail.expectCleanLogs(h, [email]);
    });
  });

  describe("accounts and email: no enumeration", () => {
    it("forgot, verify-email/send and otp/send answer known and unknown addresses alike", async () => {
      const { h, mail } = await open();
      const known = uniqueEmail("known");
      await signupOk(h, known);
      await mail.take(known, "verify_email");
      const sends: Array<[string, Kind, Record<string, unknown>]> = [
        ["/v1/password/forgot", "reset_password", {}],
        ["/v1/verify-email/send", "verify_email", {}],
        ["/v1/otp/send", "otp", {}],
      ];
      for (const [path, kind, extra] of sends) {
        const unknown = uniqueEmail("unknown");
        const a = await post(h, path, { email: known, ...extra });
        const b = await post(h, path, { email: unknown, ...extra });
        expect(b.status, path).toBe(a.status);
        expect(headersOf(b), path).toEqual(headersOf(a));
        expect(await b.text(), path).toBe(await a.text());
        expect(a.status).toBe(202);
        await mail.take(known, kind);
        expect(await mail.pending(unknown), path).toBe(0);
      }
      mail.expectCleanLogs(h);
    });
  });

  describe("accounts and email: send limits", () => {
    it("the sixth send to one address in an hour is 429, known or unknown; the next hour allows again", async () => {
      const { h, mail } = await open({ EMAIL_VERIFICATION: "off" });
      const known = uniqueEmail("limited");
      const unknown = uniqueEmail("limited-unknown");
      await signupOk(h, known);
      const sends = [
        "/v1/password/forgot",
        "/v1/password/forgot",
        "/v1/otp/send",
        "/v1/otp/send",
        "/v1/verify-email/send",
      ];
      // Every spelling of an address counts against the same limit.
      for (const [i, path] of sends.entries()) {
        const spell = (email: string) => (i % 2 ? ` ${email.toUpperCase()} ` : email);
        await expectAccepted(await post(h, path, { email: spell(known) }));
        await expectAccepted(await post(h, path, { email: spell(unknown) }));
      }
      const sixth = [
        await post(h, "/v1/password/forgot", { email: known }),
        await post(h, "/v1/password/forgot", { email: unknown }),
      ];
      const [k, u] = sixth as [Response, Response];
      expect(headersOf(u)).toEqual(headersOf(k));
      for (const res of sixth) {
        expect(await errorOf(res)).toMatchObject({ status: 429, error: "too_many_requests" });
        const retryAfter = Number(res.headers.get("Retry-After"));
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(3600);
      }
      // What was accepted went out; what was refused did not.
      await mail.take(known, "reset_password");
      await mail.take(known, "reset_password");
      await mail.take(known, "otp");
      await mail.take(known, "otp");
      expect(await mail.pending(known)).toBe(0);
      expect(await mail.pending(unknown)).toBe(0);

      h.clock.advance(HOUR);
      await expectAccepted(await post(h, "/v1/password/forgot", { email: known }));
      await expectAccepted(await post(h, "/v1/password/forgot", { email: unknown }));
      await mail.take(known, "reset_password");
      mail.expectCleanLogs(h);
    });

    it("the per-IP limit counts sends to every address; another IP is unaffected", async () => {
      const { h, mail } = await open({
        EMAIL_VERIFICATION: "off",
        RATE_LIMIT_EMAIL_IP: "3/1h",
        TRUST_PROXY: "X-Real-IP",
      });
      const from = (ip: string, email: string) =>
        h.request("/v1/password/forgot", json({ email }, { "X-Real-IP": ip }));
      const known = uniqueEmail("ip-known");
      await signupOk(h, known);
      for (let i = 0; i < 3; i++) {
        await expectAccepted(await from("203.0.113.7", uniqueEmail("ip")));
      }
      for (const email of [uniqueEmail("ip"), known]) {
        const refused = await from("203.0.113.7", email);
        expect(await errorOf(refused)).toMatchObject({ status: 429, error: "too_many_requests" });
        expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
      }
      expect(await mail.pending(known)).toBe(0);
      await expectAccepted(await from("198.51.100.9", known));
      await mail.take(known, "reset_password");
      mail.expectCleanLogs(h);
    });
  });

  describe("accounts and email: delivery failures", () => {
    const dead = options.deadTransport ?? "webhook:http://127.0.0.1:1/";

    it("a dead mail server changes no answer; email_failed is logged with the request id", async () => {
      const h = await openHarness(createHarness, { EMAIL_TRANSPORT: dead });
      const email = uniqueEmail("undelivered");
      const signup = await post(h, "/v1/signup", { email, password: PASSWORD });
      expect(signup.status).toBe(201);
      const body = (await signup.json()) as SignIn;
      expect(Object.keys(body).sort()).toEqual(
        [
          "access_token",
          "expires_in",
          "refresh_token",
          "refresh_token_expires_in",
          "token_type",
          "user",
        ].sort(),
      );
      const forgot = await post(h, "/v1/password/forgot", { email });
      const unknown = await post(h, "/v1/password/forgot", { email: uniqueEmail("nobody") });
      expect(headersOf(forgot)).toEqual(headersOf(unknown));
      await expectAccepted(forgot);
      await expectAccepted(unknown);

      for (const res of [signup, forgot]) {
        const requestId = res.headers.get("X-Request-Id");
        const failed = await waitForLog(
          h,
          (e) => e.event === "email_failed" && e.request_id === requestId,
        );
        expect(failed.level).toBe("error");
      }
      // The account works regardless; no development outbox with a real transport.
      await expectSignIn(await login(h, email), email);
      expect((await h.request("/dev/outbox")).status).toBe(404);
      const text = h.logs.join("\n");
      expect(text).not.toContain(email);
      expect(text).not.toContain(PASSWORD);
    });

    it.skipIf(!options.stalledTransport)(
      "no answer waits for the mail server: 201 and 202 while the sends are still held",
      async () => {
        const stalled = await (options.stalledTransport as () => Promise<StalledTransport>)();
        onTestFinished(() => stalled.release());
        const h = await openHarness(createHarness, stalled.env);
        const email = uniqueEmail("stalled");
        const signup = await post(h, "/v1/signup", { email, password: PASSWORD });
        expect(signup.status).toBe(201);
        const forgot = await post(h, "/v1/password/forgot", { email });
        await expectAccepted(forgot);
        await stalled.accepted(2);
        const ids = [signup, forgot].map((res) => res.headers.get("X-Request-Id"));
        // Both answers are in while both sends are still waiting on the server.
        const outcome = (e: Record<string, unknown>) =>
          (e.event === "email_sent" || e.event === "email_failed") &&
          ids.includes(e.request_id as string);
        expect(h.logs.map((line) => JSON.parse(line)).filter(outcome)).toEqual([]);
        await stalled.release();
        for (const id of ids) {
          await waitForLog(h, (e) => e.event === "email_failed" && e.request_id === id, 10_000);
        }
      },
    );
  });
}
