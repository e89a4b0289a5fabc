/** A message as a test's mailbox received it over a real protocol. */
export type ReceivedMail = {
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
  /** The link to the issuer's hosted page found in the text part, if any. */
  link?: string;
  /** The 6-digit code found in the text part, if any. */
  code?: string;
};

/**
 * Where a harness's mail goes in a test: a real SMTP server (Node) or a real HTTP endpoint
 * (`webhook:`/`resend`, from Node or workerd). Merge `env` into the harness's variables.
 */
export type Mailbox = {
  env: Record<string, string>;
  /** The next message to `to` not yet taken, waiting up to `timeoutMs` (default 5000). */
  next(to: string, options?: { timeoutMs?: number }): Promise<ReceivedMail>;
  /** How many messages to `to` arrived and were not taken yet (after letting deliveries land). */
  pending(to: string): Promise<number>;
  close(): Promise<void>;
};

export type MailboxFactory = () => Promise<Mailbox>;

/** The link and code of a message body, as a person would find them. */
export function linkAndCode(text: string): { link?: string; code?: string } {
  const link = /https?:\/\/\S+\?token=[A-Za-z0-9_-]+/.exec(text)?.[0];
  const code = /\b(\d{6})\b/.exec(text)?.[1];
  return { ...(link ? { link } : {}), ...(code ? { code } : {}) };
}
