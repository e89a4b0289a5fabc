import { ApiError } from "../errors.ts";

/** Longest password accepted, in UTF-8 bytes as sent (checked before anything else). */
export const MAX_PASSWORD_BYTES = 1024;
/** NIST SP 800-63B minimum, in code points after NFKC. */
export const MIN_PASSWORD_LENGTH = 8;

const encoder = new TextEncoder();

/**
 * Normalises a password as DESIGN.md orders it: refuse > 1024 bytes (400, before any
 * hashing), then NFKC (so NFC and NFD spellings hash alike). Used for login too.
 */
export function normalizePassword(password: string): string {
  if (encoder.encode(password).byteLength > MAX_PASSWORD_BYTES) {
    throw new ApiError("invalid_request", `Password must be at most ${MAX_PASSWORD_BYTES} bytes`);
  }
  return password.normalize("NFKC");
}

/** Checks a new password (signup) against the policy; returns its normalised form. */
export function acceptNewPassword(password: string): string {
  const normalized = normalizePassword(password);
  if ([...normalized].length < MIN_PASSWORD_LENGTH) {
    throw new ApiError(
      "invalid_request",
      `Password must be at least ${MIN_PASSWORD_LENGTH} characters`,
      { issues: [{ path: "password", message: `at least ${MIN_PASSWORD_LENGTH} characters` }] },
    );
  }
  return normalized;
}
