const UNIQUE_CODES = new Set(["SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"]);
const UNIQUE_RAW_CODES = new Set([2067, 1555]);

// D1 has no code property; its message ends with SQLite's result-code names, e.g.
// "D1_ERROR: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_UNIQUE)".
const D1_CODES = /: (SQLITE_[A-Z_]+)(?: \(extended: (SQLITE_[A-Z_]+)\))?$/;

/**
 * Whether a failed statement broke a UNIQUE or PRIMARY KEY constraint, read from the
 * driver's error code, never from the constraint's prose (docs/design/storage.md#conflicts):
 * - libSQL (`@libsql/client`, also as drizzle's `DrizzleQueryError.cause` and in batch
 *   errors): `extendedCode` or `code` `SQLITE_CONSTRAINT_UNIQUE` / `…_PRIMARYKEY`, or raw
 *   codes 2067 / 1555;
 * - D1, which has no code property: the extended result-code name it appends to the message.
 */
export function isUniqueViolation(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e: unknown = error; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    const { code, extendedCode, rawCode } = e as {
      code?: unknown;
      extendedCode?: unknown;
      rawCode?: unknown;
    };
    if (UNIQUE_CODES.has(extendedCode as string) || UNIQUE_CODES.has(code as string)) return true;
    if (UNIQUE_RAW_CODES.has(rawCode as number)) return true;
    if (code === undefined && e.message.startsWith("D1_ERROR")) {
      const extended = D1_CODES.exec(e.message)?.[2];
      if (extended !== undefined && UNIQUE_CODES.has(extended)) return true;
    }
  }
  return false;
}
