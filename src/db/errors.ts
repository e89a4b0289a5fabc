const UNIQUE_CODES = new Set(["SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"]);
const UNIQUE_RAW_CODES = new Set([2067, 1555]);

// D1 has no code property; its message ends with SQLite's result-code names, e.g.
// "D1_ERROR: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_UNIQUE)".
const D1_CODES = /: (SQLITE_[A-Z_]+)(?: \(extended: (SQLITE_[A-Z_]+)\))?$/;

// A libSQL server (sqld, Turso) answers over the Hrana protocol, whose errors carry only the
// primary result code (`SQLITE_CONSTRAINT`, never `…_UNIQUE`) and SQLite's own message. The
// unique and primary-key checks are the only constraints SQLite reports with this fixed text
// (sqlite3UniqueConstraint / sqlite3RowidConstraint), so with that code it names the extended one.
const HRANA_UNIQUE = /^SQLite error: UNIQUE constraint failed: /;

/**
 * Whether a failed statement broke a UNIQUE or PRIMARY KEY constraint, read from the
 * driver's error code, never from the constraint's prose (docs/design/storage.md#conflicts);
 * where a protocol drops the extended code, from the primary code plus SQLite's fixed text:
 * - libSQL (`@libsql/client`, also as drizzle's `DrizzleQueryError.cause` and in batch
 *   errors): `extendedCode` or `code` `SQLITE_CONSTRAINT_UNIQUE` / `…_PRIMARYKEY`, or raw
 *   codes 2067 / 1555;
 * - D1, which has no code property: the extended result-code name it appends to the message;
 * - libSQL over Hrana (sqld, Turso: `@libsql/client` with an `http(s)://`, `ws(s)://` or
 *   `libsql://` URL, and `@libsql/client/web`), which sends only the primary code: a protocol
 *   error (`ResponseError`, as the `cause`) with code `SQLITE_CONSTRAINT` and SQLite's fixed
 *   text for a unique or primary-key violation.
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
    if (e.name === "ResponseError" && code === "SQLITE_CONSTRAINT" && extendedCode === undefined) {
      const proto = (e as { proto?: { message?: unknown } }).proto;
      if (typeof proto?.message === "string" && HRANA_UNIQUE.test(proto.message)) return true;
    }
    if (code === undefined && e.message.startsWith("D1_ERROR")) {
      const extended = D1_CODES.exec(e.message)?.[2];
      if (extended !== undefined && UNIQUE_CODES.has(extended)) return true;
    }
  }
  return false;
}
