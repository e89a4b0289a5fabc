import type { EmailKind } from "./message.ts";

/** What a template may mention. */
export type TemplateInput = {
  appName: string;
  /** The issuer's hosted page that uses the link token. */
  link?: string;
  code?: string;
  /** Minutes until the link and code stop working. */
  expiresInMinutes?: number;
  /** `email_changed_notice`: the address the account moved to (shown partly hidden). */
  newEmail?: string;
};

/** Subject, plain text and HTML of one message. */
export type RenderedEmail = { subject: string; text: string; html: string };

const escapeHtml = (value: string) =>
  value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");

/** `ada@example.com` → `a…a@example.com`: enough for the owner, little for a snooper. */
const maskEmail = (email: string) => {
  const [local = "", domain = ""] = email.split("@");
  const masked = local.length <= 2 ? `${local[0] ?? ""}…` : `${local[0]}…${local.at(-1)}`;
  return `${masked}@${domain}`;
};

/** 10 → "10 minutes", 1440 → "24 hours". */
const readableMinutes = (minutes: number) =>
  minutes % 60 === 0 && minutes >= 120 ? `${minutes / 60} hours` : `${minutes} minutes`;

type Template = {
  /** The subject; a code goes first so a phone's notification shows it. */
  subject(input: TemplateInput): string;
  /** Paragraphs of the body, before the link/code block. */
  lead(input: TemplateInput): string[];
  /** The link's button label. */
  action?: string;
  /** Paragraphs after the link/code block. */
  tail(input: TemplateInput): string[];
};

const ignore = "If you did not ask for this, you can ignore this message.";

const TEMPLATES: Record<EmailKind, Template> = {
  verify_email: {
    subject: ({ appName, code }) => `${code} is your ${appName} verification code`,
    lead: ({ appName }) => [`Confirm that this address belongs to your ${appName} account.`],
    action: "Verify email address",
    tail: () => [ignore],
  },
  reset_password: {
    subject: ({ appName, code }) => `${code} is your ${appName} password reset code`,
    lead: ({ appName }) => [`Someone asked to reset the password of your ${appName} account.`],
    action: "Choose a new password",
    tail: () => [
      "Resetting the password signs you out everywhere else.",
      `${ignore} Your password stays as it is.`,
    ],
  },
  otp: {
    subject: ({ appName, code }) => `${code} is your ${appName} sign-in code`,
    lead: ({ appName }) => [`Use this code to sign in to ${appName}.`],
    tail: () => [ignore],
  },
  change_email: {
    subject: ({ appName, code }) => `${code} is your ${appName} code to confirm your new address`,
    lead: ({ appName }) => [`Confirm that your ${appName} account should use this address.`],
    action: "Confirm new address",
    tail: () => [`${ignore} The account keeps its current address.`],
  },
  email_changed_notice: {
    subject: ({ appName }) => `Your ${appName} email address is changing`,
    lead: ({ appName, newEmail }) => [
      newEmail
        ? `Your ${appName} account now uses ${maskEmail(newEmail)} instead of this address.`
        : `Someone asked to move your ${appName} account to another email address.`,
    ],
    tail: () => ["If this was not you, reset your password and contact support at once."],
  },
  signup_attempt: {
    subject: ({ appName }) => `Someone tried to sign up for ${appName} with your address`,
    lead: ({ appName }) => [
      `Someone tried to create a ${appName} account with this address, which already has one.`,
    ],
    tail: () => [
      "If it was you, sign in instead, or reset your password if you forgot it.",
      "If it was not you, no action is needed: nothing was changed.",
    ],
  },
  account_deleted: {
    subject: ({ appName }) => `Your ${appName} account was deleted`,
    lead: ({ appName }) => [
      `Your ${appName} account and its sessions have been deleted, as you asked.`,
    ],
    tail: () => ["If this was not you, contact support at once."],
  },
};

/**
 * Renders a message of `kind` as text and HTML from one template. Codes and links appear in
 * both parts; HTML escapes every value it includes.
 */
export function renderEmail(kind: EmailKind, input: TemplateInput): RenderedEmail {
  const template = TEMPLATES[kind];
  const lead = template.lead(input);
  const tail = template.tail(input);
  const expiry = input.expiresInMinutes
    ? `It expires in ${readableMinutes(input.expiresInMinutes)} and works once.`
    : undefined;

  const text = [
    ...lead,
    ...(input.code ? [`Your code: ${input.code}`] : []),
    ...(input.link ? [`${template.action ?? "Open"}: ${input.link}`] : []),
    ...(expiry ? [expiry] : []),
    ...tail,
    `— ${input.appName}`,
  ].join("\n\n");

  const p = (line: string) => `<p style="margin:0 0 16px">${escapeHtml(line)}</p>`;
  const html = [
    "<!doctype html>",
    '<html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#111">',
    // The preheader: mail apps show it after the subject, so the code is in the notification.
    ...(input.code
      ? [
          `<div style="display:none;max-height:0;overflow:hidden">${escapeHtml(`${input.code} — ${lead[0] ?? ""}`)}</div>`,
        ]
      : []),
    ...lead.map(p),
    ...(input.code
      ? [
          `<p style="font-size:28px;font-weight:700;letter-spacing:6px;margin:0 0 16px">${escapeHtml(input.code)}</p>`,
        ]
      : []),
    ...(input.link
      ? [
          `<p style="margin:0 0 16px"><a href="${escapeHtml(input.link)}">${escapeHtml(template.action ?? "Open")}</a></p>`,
        ]
      : []),
    ...(expiry ? [p(expiry)] : []),
    ...tail.map(p),
    p(`— ${input.appName}`),
    "</body></html>",
  ].join("\n");

  return { subject: template.subject(input), text, html };
}
