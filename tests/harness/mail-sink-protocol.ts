/**
 * What the HTTP mail sink (tests/harness/http-mailbox.ts) and its clients on either runtime
 * share: the mailbox options, the messages it stores, and the receiver's side of
 * `Tessera-Signature`. Web Crypto only, so it loads in Node and in workerd.
 *
 * The sink's HTTP API (loopback, tests only):
 * - `POST /mailboxes` `{via, failWith?}` → 201 `{id, env}`; `DELETE /mailboxes/:id` → 204
 * - `GET /mailboxes/:id?to=` → `{pending, accepted, held, refused: [{status, reason}]}`
 * - `POST /mailboxes/:id/release` → 204: drops the deliveries a `stall` mailbox holds
 * - `GET /mailboxes/:id/messages?to=&take=1&wait=<ms>` → `{messages}`; `take` removes what it
 *   returns, `wait` holds the answer until a message to `to` arrives or the time is up
 * - `POST /emails`: Resend's API (`Authorization: Bearer <the mailbox's key>`)
 * - `POST /hook/:id`: the webhook transport (`Tessera-Signature` checked with the key derived
 *   from the mailbox's `TESSERA_SECRET`)
 */
import type { Mailbox, ReceivedMail } from "./mailbox.ts";

/** Which HTTP transport a mailbox receives, and how it answers. */
export type HttpMailboxOptions = {
  via: "webhook" | "resend";
  /** Answer every delivery with this status (after checking it), storing nothing. */
  failWith?: number;
  /**
   * Hold every delivery (after checking it) without answering, until
   * `POST /mailboxes/:id/release` drops the held connections (and any later one), so the
   * sends fail: a mail server that never answers.
   */
  stall?: boolean;
};

/** A stored message: what a person would see, plus what the transport carried. */
export type SinkMail = ReceivedMail & {
  via: "webhook" | "resend";
  /** Webhook: the `kind` field; Resend: the `kind` tag. */
  kind: string | undefined;
  /** Webhook only: the `link` and `code` fields of the JSON body. */
  fields: { link?: string; code?: string };
  /** Webhook: the `Tessera-Signature` header that verified, and the raw body it signs. */
  signature?: string;
  rawBody?: string;
};

export type Refusal = { status: number; reason: string };

/** A mailbox on the HTTP sink, from Node (direct) or workerd (over fetch). */
export type HttpMailbox = Omit<Mailbox, "next"> & {
  via: HttpMailboxOptions["via"];
  next(to: string, options?: { timeoutMs?: number }): Promise<SinkMail>;
  /** Deliveries the sink answered with 2xx, and those it refused (and why). */
  deliveries(): Promise<{ accepted: number; refused: Refusal[] }>;
};

export type HttpMailboxFactory = (options: HttpMailboxOptions) => Promise<HttpMailbox>;

/** HKDF `info` of the webhook key (src/secrets/derive-keys.ts), restated on purpose. */
export const WEBHOOK_KEY_INFO = "tessera/v1/email-webhook-signature";

const encoder = new TextEncoder();

function base64urlDecode(value: string): Uint8Array {
  const b64 = value.replaceAll("-", "+").replaceAll("_", "/");
  const binary = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

/**
 * The webhook key as a receiver derives it: HKDF-SHA256 over the base64url-decoded
 * `TESSERA_SECRET`, empty salt, info `tessera/v1/email-webhook-signature`, 32 bytes. Written
 * from the documented recipe, not by calling `deriveKeys`, so the two check each other.
 */
export async function webhookKeyFromSecret(secret: string): Promise<Uint8Array> {
  const ikm = await crypto.subtle.importKey("raw", base64urlDecode(secret), "HKDF", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new Uint8Array(0),
      info: encoder.encode(WEBHOOK_KEY_INFO),
    },
    ikm,
    256,
  );
  return new Uint8Array(bits);
}

/**
 * A receiver's check of `Tessera-Signature: t=<unix>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>`
 * over the raw body, in constant time (`crypto.subtle.verify`). `maxAgeS` refuses a `t` that
 * far from `nowS` in either direction; unset, any `t` is accepted (test harnesses move their
 * clocks by hand, and the transport signs with the app's clock).
 */
export async function verifyTesseraSignature(
  key: Uint8Array,
  header: string | null | undefined,
  rawBody: string,
  options: { nowS?: number; maxAgeS?: number } = {},
): Promise<{ ok: true; t: number } | { ok: false; reason: string }> {
  if (!header) return { ok: false, reason: "missing Tessera-Signature" };
  let t: string | undefined;
  const v1: string[] = [];
  for (const part of header.split(",")) {
    const [name, value = ""] = part.trim().split("=", 2);
    if (name === "t") t = value;
    else if (name === "v1") v1.push(value);
  }
  if (!t || !/^\d{1,12}$/.test(t)) return { ok: false, reason: "malformed t" };
  const signatures = v1.filter((s) => /^[0-9a-f]{64}$/.test(s));
  if (signatures.length === 0) return { ok: false, reason: "no v1 signature" };
  if (options.maxAgeS !== undefined) {
    const nowS = options.nowS ?? Math.floor(Date.now() / 1000);
    if (Math.abs(nowS - Number(t)) > options.maxAgeS) return { ok: false, reason: "stale t" };
  }
  const hmac = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "verify",
  ]);
  const signed = encoder.encode(`${t}.${rawBody}`);
  for (const hex of signatures) {
    const mac = Uint8Array.from(hex.match(/../g) ?? [], (byte) => Number.parseInt(byte, 16));
    if (await crypto.subtle.verify("HMAC", hmac, mac, signed)) return { ok: true, t: Number(t) };
  }
  return { ok: false, reason: "signature mismatch" };
}
