import type { ChallengePurpose } from "../db/schema.ts";

const MINUTE = 60_000;

/** Every emailed code works for 10 minutes. */
export const CODE_TTL_MS = 10 * MINUTE;

/** How long a link works, by purpose (a reset link is a credential: short). */
export const LINK_TTL_MS: Record<ChallengePurpose, number> = {
  verify_email: 24 * 60 * MINUTE,
  reset_password: 15 * MINUTE,
  otp: 10 * MINUTE,
  change_email: 24 * 60 * MINUTE,
};

/** Wrong codes allowed; the fifth ends the challenge (a new send starts over). */
export const MAX_CODE_ATTEMPTS = 5;
