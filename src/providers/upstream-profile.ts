/** Who the upstream provider says signed in: its stable subject and what it shares. */
export type UpstreamProfile = {
  /** The provider's stable user id (`sub`; GitHub: the numeric user id as a string). */
  subject: string;
  /** Trimmed and lower-cased; null when the provider shared none. */
  email: string | null;
  /** Whether the provider vouches for the address. */
  emailVerified: boolean;
  name: string | null;
};

/** An address as Tessera stores it: trimmed and lower-cased; null for none or blank. */
export function normalizeUpstreamEmail(email: unknown): string | null {
  if (typeof email !== "string") return null;
  const normalized = email.trim().toLowerCase();
  return normalized === "" ? null : normalized;
}
