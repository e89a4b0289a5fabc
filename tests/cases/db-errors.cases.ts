import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { isUniqueViolation } from "../../src/db/errors.ts";
import { users } from "../../src/db/schema.ts";
import type { HarnessFactory } from "../harness/types.ts";

const caught = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (error: unknown) => error,
  );

/** Conflicts are recognised by the driver's error code, on libSQL and on D1 alike. */
export function dbErrorCases(createHarness: HarnessFactory) {
  describe("database conflicts (src/db/errors.ts)", () => {
    it("recognises a UNIQUE violation from one statement and from a batch, nothing else", async () => {
      const h = await createHarness();
      try {
        const row = (id: string) => ({
          id,
          email: "conflict@example.com",
          passwordHash: "$scrypt$unused",
          createdAt: 0,
          updatedAt: 0,
        });
        await h.db.insert(users).values(row("u1"));
        const single = await caught(h.db.insert(users).values(row("u2")));
        expect(single).toBeInstanceOf(Error);
        expect(isUniqueViolation(single)).toBe(true);
        const batched = await caught(
          h.db.batch([
            h.db.insert(users).values({ ...row("u3"), email: "other@example.com" }),
            h.db.insert(users).values(row("u4")),
          ]),
        );
        expect(batched).toBeInstanceOf(Error);
        expect(isUniqueViolation(batched)).toBe(true);
        // The batch was atomic: its first insert did not survive the second's failure.
        expect(await h.db.select({ id: users.id }).from(users)).toEqual([{ id: "u1" }]);
        // Other failures are not conflicts.
        const missingTable = await caught(h.db.run(sql`SELECT * FROM no_such_table`));
        expect(missingTable).toBeInstanceOf(Error);
        expect(isUniqueViolation(missingTable)).toBe(false);
        // Another constraint (NOT NULL) is not a conflict either, on every driver.
        const notNull = await caught(
          h.db.run(sql`INSERT INTO users (id, email) VALUES ('n', 'n')`),
        );
        expect(notNull).toBeInstanceOf(Error);
        expect(isUniqueViolation(notNull)).toBe(false);
        expect(isUniqueViolation(new Error("UNIQUE constraint failed: users.email"))).toBe(false);
      } finally {
        await h.close();
      }
    });
  });
}
