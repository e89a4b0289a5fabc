import DataLoader from "dataloader";
import { inArray, sql } from "drizzle-orm";
import { prepared } from "../db/prepared.ts";
import { users } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { findUserById, type User } from "./users.ts";

/** Most ids one batched read asks for (SQLite and sqld take far more bound values). */
export const MAX_USERS_PER_READ = 64;

/** `WHERE id IN (:id0, …)` for `n` ids, prepared once per database and `n`. */
const usersByIds = (db: Database, n: number) =>
  prepared(db, `usersByIds${n}`, (d) =>
    d
      .select()
      .from(users)
      .where(
        inArray(
          users.id,
          Array.from({ length: n }, (_, i) => sql.placeholder(`id${i}`)),
        ),
      )
      .prepare(),
  );

/**
 * Reads a user by id; with `schedule` (the Node entry's `setImmediate`), the reads asked for
 * during one event-loop turn go to the database as one `WHERE id IN (…)` query
 * (docs/performance.md#batched-user-reads). Each read is sent after the request asked for it,
 * so it sees every commit acknowledged before that. Nothing is cached between batches: a user
 * deleted a moment ago is not found. Without `schedule` (the Worker, whose requests may not
 * share I/O), every read is its own query.
 */
export function batchedUserReads(
  db: Database,
  schedule: ((run: () => void) => void) | undefined,
): (id: string) => Promise<User | undefined> {
  if (!schedule) return (id) => findUserById(db, id);
  const loader = new DataLoader<string, User | undefined>(
    async (ids) => {
      // One id (a quiet moment): the prepared point read, as without batching.
      if (ids.length === 1) return [await findUserById(db, ids[0] as string)];
      const distinct = [...new Set(ids)];
      const rows = await usersByIds(db, distinct.length).execute(
        Object.fromEntries(distinct.map((id, i) => [`id${i}`, id])),
      );
      const byId = new Map(rows.map((user) => [user.id, user]));
      return ids.map((id) => byId.get(id));
    },
    { cache: false, batchScheduleFn: schedule, maxBatchSize: MAX_USERS_PER_READ },
  );
  return (id) => loader.load(id);
}
