import { createHmac } from "node:crypto";
import type { EmailMessage, Mailer } from "../message.ts";
import { EmailDeliveryError } from "./resend.ts";

/**
 * `Tessera-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>`: the receiver
 * recomputes it over the raw body with the webhook key (HKDF of `TESSERA_SECRET`, see
 * docs/design/accounts.md#webhook-transport), compares in constant time, and refuses old `t`.
 */
export function webhookSignature(key: Uint8Array, body: string, unixSeconds: number): string {
  const mac = createHmac("sha256", key).update(`${unixSeconds}.${body}`).digest("hex");
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * `EMAIL_TRANSPORT=webhook:<url>`: POSTs each message as JSON
 * `{to, from, subject, text, html, kind, link?, code?}` to the operator's own mailer, signed
 * in `Tessera-Signature`. Any 2xx is success.
 */
export function createWebhookMailer(options: {
  url: string;
  signingKey: Uint8Array;
  fetch: typeof fetch;
  now: () => number;
}): Mailer {
  return {
    async send(message: EmailMessage) {
      const body = JSON.stringify(message);
      const res = await options.fetch(options.url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "Tessera-Signature": webhookSignature(
            options.signingKey,
            body,
            Math.floor(options.now() / 1000),
          ),
        },
        body,
      });
      await res.body?.cancel();
      if (!res.ok) throw new EmailDeliveryError("webhook", res.status);
    },
  };
}
