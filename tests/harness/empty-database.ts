import type { Client } from "@libsql/client";

/**
 * Deletes every row of every table except drizzle's migration journal, and drops test-made
 * triggers: a fresh database without re-running the migrations. One write batch (a transaction)
 * with foreign-key checks deferred to its commit, when nothing is left to refer to. Runs on Node
 * and in workerd (`@libsql/client` or its web build).
 */
export async function emptyDatabase(client: Pick<Client, "execute" | "batch">): Promise<void> {
  const { rows } = await client.execute(
    "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'libsql_%'",
  );
  const named = (type: string) => rows.filter((r) => r.type === type).map((r) => String(r.name));
  await client.batch(
    [
      "PRAGMA defer_foreign_keys = ON",
      ...named("trigger").map((name) => `DROP TRIGGER "${name}"`),
      ...named("table").map((name) => `DELETE FROM "${name}"`),
    ],
    "write",
  );
}
