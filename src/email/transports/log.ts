import type { Logger } from "../../lib/logger.ts";
import type { EmailMessage, Mailer } from "../message.ts";

/** The messages a development server "sent", newest last (`GET /dev/outbox`). */
export type Outbox = { messages(): readonly EmailMessage[] };

/**
 * `EMAIL_TRANSPORT=log`, for development: each message goes to the log, with its link and
 * code when `reveal` is on (development), and into a bounded in-memory outbox. In production
 * (`reveal` off) only the kind is logged, since a code in a log is a
 * credential in a log; a production start with this transport warns.
 */
export function createLogMailer(
  logger: Logger,
  options: { reveal: boolean; maxMessages?: number },
): Mailer & Outbox {
  const maxMessages = options.maxMessages ?? 100;
  const sent: EmailMessage[] = [];
  return {
    async send(message) {
      // Never the address: logs hold no personal data (`GET /dev/outbox` shows recipients).
      if (!options.reveal) {
        logger.info("email_logged", { kind: message.kind });
        return;
      }
      sent.push(message);
      if (sent.length > maxMessages) sent.shift();
      logger.info("email_logged", {
        kind: message.kind,
        subject: message.subject,
        ...(message.link ? { link: message.link } : {}),
        ...(message.code ? { code: message.code } : {}),
      });
    },
    messages: () => sent,
  };
}
