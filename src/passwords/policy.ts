import { InvalidInput } from "../errors.ts";
import { COMMON_PASSWORDS } from "./common-passwords.ts";

/** Longest password accepted, in UTF-8 bytes as sent (checked before anything else). */
export const MAX_PASSWORD_BYTES = 1024;
/** NIST SP 800-63B §3.1.1.2 minimum, in code points after NFKC (800-63B-4 asks 15 for single-factor). */
export const DEFAULT_MIN_PASSWORD_LENGTH = 8;

const encoder = new TextEncoder();

// Parsed on first use: a Set of 10,000 entries costs ~1 ms once per process or isolate.
let common: Set<string> | undefined;
const isCommon = (lowered: string) => {
  common ??= new Set(COMMON_PASSWORDS.split("\n"));
  return common.has(lowered);
};

/**
 * Normalises a password (docs/design/storage.md#passwords): refuse > 1024 bytes before any
 * hashing, then NFKC (so NFC and NFD spellings hash alike). Used for every password input.
 * @throws {@link InvalidInput} naming `field` when it is too long.
 */
export function normalizePassword(password: string, field = "password"): string {
  if (encoder.encode(password).byteLength > MAX_PASSWORD_BYTES) {
    throw new InvalidInput(
      field,
      `Password must be at most ${MAX_PASSWORD_BYTES} bytes`,
      `at most ${MAX_PASSWORD_BYTES} bytes`,
    );
  }
  return password.normalize("NFKC");
}

/**
 * Checks a new password against NIST SP 800-63B §3.1.1.2: at least `minLength` code points
 * after NFKC, not a commonly used or breached password, not built from context words (the
 * email's local part, the service's name). No composition rules. Returns the normalised form.
 */
export function acceptNewPassword(
  password: string,
  context: { email: string; minLength?: number; field?: string },
): string {
  const field = context.field ?? "password";
  const refuse = (message: string) => new InvalidInput(field, message);
  const normalized = normalizePassword(password, field);
  const minLength = context.minLength ?? DEFAULT_MIN_PASSWORD_LENGTH;
  if ([...normalized].length < minLength) {
    throw refuse(`Password must be at least ${minLength} characters`);
  }
  const lowered = normalized.toLowerCase();
  if (isCommon(lowered)) {
    throw refuse("This password is too common: it appears in lists of breached passwords");
  }
  const localPart = context.email.split("@")[0] ?? "";
  const contextWords = ["tessera", ...(localPart.length >= 3 ? [localPart] : [])];
  if (contextWords.some((word) => lowered.includes(word))) {
    throw refuse("Password must not contain your email name or the service's name");
  }
  return normalized;
}
