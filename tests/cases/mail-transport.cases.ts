import { describe, expect, it, onTestFinished } from "vitest";
import { bootstrap } from "../../src/bootstrap.ts";
import { parseConfig } from "../../src/config.ts";
import { webhookSignature } from "../../src/email/transports/webhook.ts";
import { randomSecret } from "../../src/lib/random-id.ts";
import { deriveKeys } from "../../src/secrets/derive-keys.ts";
import {
  type HttpMailbox,
  type HttpMailboxFactory,
  type HttpMailboxOptions,
  verifyTesseraSignature,
  webhookKeyFromSecret,
} from "../harness/mail-sink-protocol.ts";
import { linkAndCode } from "../harness/mailbox.ts";
import { openHarness } from "../harness/open.ts";
import type { Harness, HarnessFactory } from "../harness/types.ts";
import { json, PASSWORD, type TokenBody, uniqueEmail } from "./helpers.ts";

type LogLine = { level: string; event: string } & Record<string, unknown>;

const parsedLogs = (h: Harness) => h.logs.map((line) => JSON.parse(line) as LogLine);

/** The first log line with `event`, waiting for a background send to finish. */
async function logged(h: Harness, event: string, timeoutMs = 5000): Promise<LogLine> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const line = parsedLogs(h).find((l) => l.event === event);
    if (line) return line;
    if (Date.now() > until) throw new Error(`no "${event}" log line within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function openMailbox(factory: HttpMailboxFactory, options: HttpMailboxOptions) {
  const mailbox = await factory(options);
  onTestFinished(() => mailbox.close());
  return mailbox;
}

const hex = (bytes: ArrayBuffer) =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** The hook URL a webhook mailbox's env routes to. */
const hookUrl = (mailbox: HttpMailbox) =>
  (mailbox.env.EMAIL_TRANSPORT as string).replace(/^webhook:/, "");

/**
 * The `resend` and `webhook:` transports against a real HTTP receiver (the mail sink, which
 * checks the Resend API's key and JSON shape and the webhook's `Tessera-Signature`), the log
 * transport's development outbox, and transport start-up checks. `openMailbox` gives a mailbox
 * on the sink as this runtime reaches it (Node: directly; workerd: over fetch).
 */
export function mailTransportCases(
  createHarness: HarnessFactory,
  openHttpMailbox: HttpMailboxFactory,
) {
  describe("mail transports: resend and webhook to a real HTTP receiver", () => {
    for (const via of ["webhook", "resend"] as const) {
      it(`${via}: a signup's verification message arrives, and what it carries verifies the address`, async () => {
        const mailbox = await openMailbox(openHttpMailbox, { via });
        const h = await openHarness(createHarness, {
          ...mailbox.env,
          EMAIL_VERIFICATION: "optional",
        });
        const email = uniqueEmail(via);
        const res = await h.request("/v1/signup", json({ email, password: PASSWORD }));
        expect(res.status).toBe(201);

        const mail = await mailbox.next(email);
        expect(mail).toMatchObject({ via, to: email, from: h.config.email.from });
        expect(mail.kind).toBe("verify_email");
        expect(mail.code).toMatch(/^\d{6}$/);
        expect(mail.subject).toBe(`${mail.code} is your Tessera verification code`);
        expect(mail.link).toMatch(/^http:\/\/localhost:8787\/verify-email\?token=[\w-]+$/);
        expect(mail.html).toContain(mail.code);
        expect(mail.html).toContain(`href="${mail.link}"`);
        if (via === "webhook") {
          // The JSON fields say what the text says, and the signature is over the app's clock.
          expect(mail.fields).toEqual({ link: mail.link, code: mail.code });
          expect(mail.signature).toMatch(
            new RegExp(`^t=${Math.floor(h.clock.now() / 1000)},v1=[0-9a-f]{64}$`),
          );
        }
        expect(await mailbox.deliveries()).toEqual({ accepted: 1, refused: [] });

        // What arrived is usable: the webhook's link, or the Resend message's code.
        const proof =
          via === "webhook"
            ? { token: new URL(mail.link as string).searchParams.get("token") }
            : { email, code: mail.code };
        const verified = await h.request("/v1/verify-email", json(proof));
        expect(verified.status).toBe(200);
        const body = (await verified.json()) as TokenBody & { user: { email_verified: boolean } };
        expect(body.user.email_verified).toBe(true);
        expect(await mailbox.pending(email)).toBe(0);
      });

      it(`${via}: a receiver answering 500 leaves the answer unchanged (201) and logs email_failed with the request id`, async () => {
        const mailbox = await openMailbox(openHttpMailbox, { via, failWith: 500 });
        const h = await openHarness(createHarness, {
          ...mailbox.env,
          EMAIL_VERIFICATION: "optional",
        });
        const email = uniqueEmail(`${via}-down`);
        const res = await h.request("/v1/signup", json({ email, password: PASSWORD }));
        expect(res.status).toBe(201);
        expect(((await res.json()) as TokenBody).access_token).toEqual(expect.any(String));

        const failed = await logged(h, "email_failed");
        expect(failed).toMatchObject({
          level: "error",
          request_id: res.headers.get("X-Request-Id"),
          kind: "verify_email",
          code: "ERR_EMAIL_DELIVERY",
        });
        expect(failed.error).toBe(`EmailDeliveryError: ${via} refused the message (HTTP 500)`);
        // The address is personal data: not in any log line.
        expect(h.logs.join("\n")).not.toContain(email);
        expect(await mailbox.deliveries()).toEqual({
          accepted: 0,
          refused: [{ status: 500, reason: "failWith" }],
        });
      });
    }
  });

  describe("mail transports: Tessera-Signature", () => {
    it("webhookSignature is hex HMAC-SHA256(derived key, `<t>.<body>`); a receiver's check refuses every tampering", async () => {
      const secret = randomSecret();
      const { webhookSigningKey } = await deriveKeys(secret);
      // The documented derivation (HKDF-SHA256, empty salt, the label) gives the app's key.
      expect(await webhookKeyFromSecret(secret)).toEqual(webhookSigningKey);

      const body = JSON.stringify({ to: "ada@example.com", kind: "otp", code: "123456" });
      const t = 1_800_000_000;
      const header = webhookSignature(webhookSigningKey, body, t);
      const hmac = await crypto.subtle.importKey(
        "raw",
        webhookSigningKey,
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      const mac = hex(
        await crypto.subtle.sign("HMAC", hmac, new TextEncoder().encode(`${t}.${body}`)),
      );
      expect(header).toBe(`t=${t},v1=${mac}`);

      const check = (key: Uint8Array, h: string, b = body, options = {}) =>
        verifyTesseraSignature(key, h, b, options);
      expect(await check(webhookSigningKey, header)).toEqual({ ok: true, t });
      const refused = { ok: false, reason: "signature mismatch" };
      expect(await check(webhookSigningKey, header, body.replace("123456", "654321"))).toEqual(
        refused,
      );
      expect(await check(webhookSigningKey, header.replace(`t=${t}`, `t=${t + 1}`))).toEqual(
        refused,
      );
      const flipped = `${header.slice(0, -1)}${header.endsWith("0") ? "1" : "0"}`;
      expect(await check(webhookSigningKey, flipped)).toEqual(refused);
      const otherKey = (await deriveKeys(randomSecret())).webhookSigningKey;
      expect(await check(otherKey, header)).toEqual(refused);
      // Another purpose's key from the same secret does not verify either.
      expect(await check((await deriveKeys(secret)).emailCodeKey, header)).toEqual(refused);
      expect(await check(webhookSigningKey, `v1=${mac}`)).toMatchObject({ ok: false });
      expect(await check(webhookSigningKey, `t=${t}`)).toMatchObject({ ok: false });
      expect(await check(webhookSigningKey, "")).toMatchObject({ ok: false });
      // A receiver that bounds the age of `t` refuses a replay from long ago.
      expect(await check(webhookSigningKey, header, body, { nowS: t + 301, maxAgeS: 300 })).toEqual(
        { ok: false, reason: "stale t" },
      );
      expect(await check(webhookSigningKey, header, body, { nowS: t + 60, maxAgeS: 300 })).toEqual({
        ok: true,
        t,
      });
    });

    it("the receiver refuses a delivery whose signature is tampered with or made with another secret", async () => {
      const mailbox = await openMailbox(openHttpMailbox, { via: "webhook" });
      const key = await webhookKeyFromSecret(mailbox.env.TESSERA_SECRET as string);
      const to = uniqueEmail("forged");
      const message = {
        to,
        from: "Tessera <no-reply@localhost>",
        subject: "123456 is your Tessera sign-in code",
        text: "Your code: 123456",
        html: "<p>123456</p>",
        kind: "otp",
        code: "123456",
      };
      const body = JSON.stringify(message);
      const t = Math.floor(Date.now() / 1000);
      const post = async (payload: string, signature: string) => {
        const res = await fetch(hookUrl(mailbox), {
          method: "POST",
          headers: { "Content-Type": "application/json", "Tessera-Signature": signature },
          body: payload,
        });
        await res.body?.cancel();
        return res.status;
      };
      const forgedBody = JSON.stringify({ ...message, code: "000000", text: "Your code: 000000" });
      expect(await post(forgedBody, webhookSignature(key, body, t))).toBe(401);
      const otherKey = await webhookKeyFromSecret(randomSecret());
      expect(await post(body, webhookSignature(otherKey, body, t))).toBe(401);
      expect(await post(body, "")).toBe(401);
      expect(await post(body, webhookSignature(key, body, t))).toBe(200);

      expect(await mailbox.deliveries()).toEqual({
        accepted: 1,
        refused: [
          { status: 401, reason: "signature mismatch" },
          { status: 401, reason: "signature mismatch" },
          { status: 401, reason: "missing Tessera-Signature" },
        ],
      });
      expect(await mailbox.next(to)).toMatchObject({ code: "123456", kind: "otp" });
    });
  });

  describe("mail transports: log and start-up", () => {
    it("EMAIL_TRANSPORT=log in development: GET /dev/outbox lists the message with its link and code", async () => {
      const h = await openHarness(createHarness, {
        EMAIL_TRANSPORT: "log",
        EMAIL_VERIFICATION: "optional",
      });
      expect(parsedLogs(h).some((l) => l.event === "email_transport_log")).toBe(false);
      const email = uniqueEmail("outbox");
      expect((await h.request("/v1/signup", json({ email, password: PASSWORD }))).status).toBe(201);
      await logged(h, "email_logged");
      const res = await h.request(`/dev/outbox?to=${encodeURIComponent(email)}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      const { messages } = (await res.json()) as {
        messages: Array<{ to: string; kind: string; text: string; link?: string; code?: string }>;
      };
      expect(messages).toHaveLength(1);
      const [message] = messages;
      expect(message).toMatchObject({ to: email, kind: "verify_email" });
      expect(message?.code).toMatch(/^\d{6}$/);
      expect(message?.link).toMatch(/^http:\/\/localhost:8787\/verify-email\?token=[\w-]+$/);
      // The fields say what the text says.
      expect(linkAndCode(message?.text ?? "")).toEqual({
        link: message?.link,
        code: message?.code,
      });
    });

    it("EMAIL_TRANSPORT=log with NODE_ENV=production warns at start, logs no code, and has no /dev/outbox", async () => {
      const h = await openHarness(createHarness, {
        NODE_ENV: "production",
        EMAIL_TRANSPORT: "log",
        EMAIL_VERIFICATION: "optional",
      });
      expect(parsedLogs(h).find((l) => l.event === "email_transport_log")).toMatchObject({
        level: "warn",
        message: "EMAIL_TRANSPORT=log in production: no email is delivered",
      });
      const email = uniqueEmail("prod-log");
      expect((await h.request("/v1/signup", json({ email, password: PASSWORD }))).status).toBe(201);
      const line = await logged(h, "email_logged");
      expect(Object.keys(line).sort()).toEqual(["event", "kind", "level", "time"]);
      expect((await h.request("/dev/outbox")).status).toBe(404);
      expect((await h.request(`/dev/outbox?to=${encodeURIComponent(email)}`)).status).toBe(404);
    });

    it("EMAIL_TRANSPORT=smtp://… with no SMTP transport (as on Workers) stops start-up with a ConfigError naming EMAIL_TRANSPORT", async () => {
      const h = await openHarness(createHarness);
      const config = parseConfig({
        EMAIL_TRANSPORT: "smtp://127.0.0.1:2525",
        TESSERA_SECRET: randomSecret(),
        LOG_LEVEL: "silent",
      });
      const started = bootstrap({ config, db: h.db, secret: config.secret as string });
      await expect(started).rejects.toMatchObject({
        name: "ConfigError",
        variable: "EMAIL_TRANSPORT",
        message: expect.stringMatching(
          /^Invalid configuration: EMAIL_TRANSPORT: smtp is Node-only/,
        ),
      });
    });
  });
}
