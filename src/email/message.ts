/** Every kind of message Tessera sends (docs/design/accounts.md#messages). */
export const EMAIL_KINDS = [
  "verify_email",
  "reset_password",
  "otp",
  "change_email",
  "email_changed_notice",
  "signup_attempt",
  "account_deleted",
] as const;
export type EmailKind = (typeof EMAIL_KINDS)[number];

/** One rendered message, as every transport receives it. */
export type EmailMessage = {
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
  kind: EmailKind;
  /** The link in the message, when it has one (a hosted page of the issuer). */
  link?: string;
  /** The 6-digit code in the message, when it has one. */
  code?: string;
};

/** Delivers messages. `send` resolves once the transport accepted the message. */
export type Mailer = {
  send(message: EmailMessage): Promise<void>;
};
