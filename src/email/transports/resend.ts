import type { EmailMessage, Mailer } from "../message.ts";

/** A failed delivery: the transport answered, but not with success. */
export class EmailDeliveryError extends Error {
  readonly code = "ERR_EMAIL_DELIVERY";
  constructor(
    readonly transport: string,
    readonly status: number,
  ) {
    super(`${transport} refused the message (HTTP ${status})`);
    this.name = "EmailDeliveryError";
  }
}

/**
 * `EMAIL_TRANSPORT=resend`: Resend's HTTP API (`POST /emails`), plain `fetch`, so it works on
 * Workers. `apiUrl` is `https://api.resend.com` unless configured (tests point it at a local
 * server).
 */
export function createResendMailer(options: {
  apiKey: string;
  apiUrl: string;
  fetch: typeof fetch;
}): Mailer {
  return {
    async send(message: EmailMessage) {
      const res = await options.fetch(`${options.apiUrl}/emails`, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${options.apiKey}`,
          "Content-Type": "application/json",
        },
        body: JSON.stringify({
          from: message.from,
          to: [message.to],
          subject: message.subject,
          text: message.text,
          html: message.html,
          tags: [{ name: "kind", value: message.kind }],
        }),
      });
      await res.body?.cancel();
      if (!res.ok) throw new EmailDeliveryError("resend", res.status);
    },
  };
}
