import { type Config, ConfigError } from "../config.ts";
import type { Logger } from "../lib/logger.ts";
import type { Mailer } from "./message.ts";
import { createLogMailer, type Outbox } from "./transports/log.ts";
import { createResendMailer } from "./transports/resend.ts";
import { createWebhookMailer } from "./transports/webhook.ts";

/** Builds an SMTP mailer for a `smtp://` / `smtps://` URL; only the Node entry has one. */
export type SmtpMailerFactory = (url: string) => Mailer;

/**
 * The mailer `EMAIL_TRANSPORT` asks for. `log` also returns its outbox (development only,
 * for `GET /dev/outbox`).
 * @throws {@link ConfigError} for `smtp` on a runtime without an SMTP transport (Workers).
 */
export function createMailer(
  config: Config,
  options: {
    logger: Logger;
    fetch: typeof fetch;
    webhookSigningKey: Uint8Array;
    now: () => number;
    smtp?: SmtpMailerFactory;
  },
): { mailer: Mailer; outbox?: Outbox } {
  const { transport } = config.email;
  switch (transport.kind) {
    case "log": {
      const mailer = createLogMailer(options.logger, { reveal: !config.production });
      return config.production ? { mailer } : { mailer, outbox: mailer };
    }
    case "smtp":
      if (!options.smtp) {
        throw new ConfigError(
          "EMAIL_TRANSPORT",
          "smtp is Node-only; on Workers use resend or webhook:<url>",
        );
      }
      return { mailer: options.smtp(transport.url) };
    case "resend":
      return {
        mailer: createResendMailer({
          apiKey: config.email.resendApiKey ?? "",
          apiUrl: config.email.resendApiUrl,
          fetch: options.fetch,
        }),
      };
    case "webhook":
      return {
        mailer: createWebhookMailer({
          url: transport.url,
          signingKey: options.webhookSigningKey,
          fetch: options.fetch,
          now: options.now,
        }),
      };
  }
}
