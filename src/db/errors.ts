/**
 * Whether a failed statement broke a UNIQUE or PRIMARY KEY constraint, read from the
 * driver's error code, never from message prose:
 * - libSQL (`@libsql/client`, also inside drizzle's `DrizzleQueryError.cause` and batch
 *   errors): `extendedCode` (or a batch step's `code`) `SQLITE_CONSTRAINT_UNIQUE` /
 *   `SQLITE_CONSTRAINT_PRIMARYKEY`, raw codes 2067 / 1555;
 * - D1 carries no code property: its message ends with SQLite's result-code name
 *   (`…: SQLITE_CONSTRAINT`), the only code it exposes, and D1 does not report the extended
 *   code, so any constraint failure there counts.
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
    for (const value of [extendedCode, code]) {
      if (value === "SQLITE_CONSTRAINT_UNIQUE" || value === "SQLITE_CONSTRAINT_PRIMARYKEY") {
        return true;
      }
    }
    if (rawCode === 2067 || rawCode === 1555) return true;
    if (code === undefined && /^D1_ERROR\b.*: SQLITE_CONSTRAINT$/s.test(e.message)) return true;
  }
  return false;
}
