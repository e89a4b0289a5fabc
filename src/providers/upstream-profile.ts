import { regexes } from "zod";

/** Who the upstream provider says signed in: its stable subject and what it shares. */
export type UpstreamProfile = {
  /** The provider's stable user id (`sub`; GitHub: the numeric user id as a string). */
  subject: string;
  /** Trimmed and lower-cased; null when the provider shared none Tessera can hold. */
  email: string | null;
  /** Whether the provider vouches for the address. */
  emailVerified: boolean;
  name: string | null;
};

/** RFC 5321 §4.5.3.1.3: a path holds at most 256 octets, the address 254 of them. */
const MAX_EMAIL_LENGTH = 254;

/**
 * An address as Tessera stores it (trimmed and lower-cased); null for none, or for one that is
 * not a plain ASCII address of the form Tessera's own email schema takes. The check runs
 * before lower-casing: Unicode case folding maps some letters onto ASCII (U+212A KELVIN SIGN →
 * `k`, so `\u212Aate@example.com` → `kate@example.com`), and an address the provider verified
 * must not become another person's on the way to the linking rule.
 */
export function normalizeUpstreamEmail(email: unknown): string | null {
  if (typeof email !== "string") return null;
  const trimmed = email.trim();
  if (trimmed.length > MAX_EMAIL_LENGTH || !regexes.email.test(trimmed)) return null;
  return trimmed.toLowerCase();
}
