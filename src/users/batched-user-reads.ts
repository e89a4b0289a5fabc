import DataLoader from "dataloader";
import type { Database } from "../db/types.ts";
import type { Schedule } from "../lib/schedule.ts";
import { findUserById, findUsersByIds, MAX_USER_IDS, type User } from "./users.ts";

/**
 * Reads a user by id for the read-only Bearer endpoints (`deps.userById`). With `schedule`
 * (the Node entry's `afterIoPhase`), the reads asked for during one event-loop I/O phase go to
 * the database right after it as one query ({@link findUsersByIds}; a lone id keeps the
 * prepared point read), at most {@link MAX_USER_IDS} ids a batch (docs/performance.md, "Fourth
 * pass"). Each read is sent after the request asked for it, so it sees every commit
 * acknowledged before that; nothing is kept between batches, so a user deleted a moment ago
 * is not found. A failed query fails every read of its batch with the same error, and the
 * callers of one id share one row object (read-only). Without `schedule` (the Worker, whose
 * requests may not share I/O), every read is its own query.
 */
export function batchedUserReads(
  db: Database,
  schedule: Schedule | undefined,
): (id: string) => Promise<User | undefined> {
  if (!schedule) return (id) => findUserById(db, id);
  const loader = new DataLoader<string, User | undefined>((ids) => findUsersByIds(db, ids), {
    cache: false,
    batchScheduleFn: schedule,
    maxBatchSize: MAX_USER_IDS,
  });
  return (id) => loader.load(id);
}
