import type { ChallengePurpose } from "../db/schema.ts";
import { emailChallenges } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { randomId, randomSecret } from "../lib/random-id.ts";
import { sha256Base64url } from "../lib/sha256.ts";
import { CODE_TTL_MS, LINK_TTL_MS } from "./challenge-policy.ts";
import { codeDigest, newCode } from "./challenge-secrets.ts";

/** What goes into the message; never stored. */
export type IssuedChallenge = {
  token: string;
  code: string;
  /** Minutes the link works. */
  linkTtlMinutes: number;
};

/**
 * Creates the link token and 6-digit code for one emailed challenge and stores their digests
 * (docs/design/accounts.md#challenges). One UPSERT on (purpose, subject): a new send replaces
 * the previous challenge, its link, code and wrong-try count.
 */
export async function issueChallenge(
  db: Database,
  codeKey: Uint8Array,
  input: {
    purpose: ChallengePurpose;
    /** The address, or the user id for `change_email`. */
    subject: string;
    email: string;
    userId: string | null;
    createUser?: boolean;
    now: number;
  },
): Promise<IssuedChallenge> {
  const id = randomId();
  const token = randomSecret();
  const code = newCode();
  const linkTtl = LINK_TTL_MS[input.purpose];
  const row = {
    id,
    purpose: input.purpose,
    subject: input.subject,
    email: input.email,
    userId: input.userId,
    createUser: input.createUser ?? false,
    tokenHash: await sha256Base64url(token),
    codeHash: codeDigest(codeKey, id, code),
    attempts: 0,
    createdAt: input.now,
    codeExpiresAt: input.now + Math.min(CODE_TTL_MS, linkTtl),
    expiresAt: input.now + linkTtl,
  };
  const { purpose: _p, subject: _s, ...replacement } = row;
  await db
    .insert(emailChallenges)
    .values(row)
    .onConflictDoUpdate({
      target: [emailChallenges.purpose, emailChallenges.subject],
      set: replacement,
    });
  return { token, code, linkTtlMinutes: Math.round(linkTtl / 60_000) };
}
