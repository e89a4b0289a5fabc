import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { prepared, preparedBatchItem } from "../db/prepared.ts";
import { sessions } from "../db/schema.ts";
import type { Database } from "../db/types.ts";

/** The values of one rotation (docs/design/tokens.md#rotation-step-2). */
export type RotationStep = {
  id: string;
  generation: number;
  next: number;
  now: number;
  idleSince: number;
  clientId: string;
};

/** The session a rotation advanced; undefined when no row matched (step 3 finds out why). */
export type RotatedRow = {
  userId: string;
  clientId: string;
  expiresAt: number;
  scope: string | null;
};

/**
 * Group commit: schedules `flush` once the requests already received have queued their
 * rotations (Node: `setImmediate`, after the event loop's I/O phase). Unset (the Worker),
 * every rotation commits on its own.
 */
export type GroupCommit = (flush: () => void) => void;

/** At most this many rotations in one batch; the rest go in the next. */
export const MAX_ROTATIONS_PER_BATCH = 64;

/**
 * Step 2's conditional UPDATE … RETURNING, prepared once per database: the one statement of
 * every refresh (and its hot path).
 */
const rotationStatement = (db: Database) =>
  prepared(db, "rotateRefreshToken", (d) =>
    d
      .update(sessions)
      .set({
        // set() takes SQL, not bare placeholders: wrap each.
        generation: sql`${sql.placeholder("next")}`,
        rotatedAt: sql`${sql.placeholder("now")}`,
        lastUsedAt: sql`${sql.placeholder("now")}`,
      })
      .where(
        and(
          eq(sessions.id, sql.placeholder("id")),
          eq(sessions.generation, sql.placeholder("generation")),
          isNull(sessions.revokedAt),
          gt(sessions.expiresAt, sql.placeholder("now")),
          gt(sessions.lastUsedAt, sql.placeholder("idleSince")),
          eq(sessions.clientId, sql.placeholder("clientId")),
        ),
      )
      .returning({
        userId: sessions.userId,
        clientId: sessions.clientId,
        expiresAt: sessions.expiresAt,
        scope: sessions.scope,
      })
      .prepare(),
  );

type Waiting = {
  step: RotationStep;
  resolve: (row: RotatedRow | undefined) => void;
  reject: (error: unknown) => void;
};

/** Per database: rotations waiting for the next commit, and whether one is due or running. */
type Queue = { waiting: Waiting[]; scheduled: boolean; committing: boolean };

const queues = new WeakMap<Database, Queue>();

const runOne = async (db: Database, step: RotationStep) =>
  (await rotationStatement(db).execute(step))[0];

/**
 * Runs step 2 for one refresh and resolves once it is committed. With `groupCommit`, the
 * rotations that arrive together (in one event-loop turn, or while the previous batch is
 * being committed) go to the database as one `db.batch`: one transaction, one fsync, its
 * statements in arrival order, so two rotations of one session behave exactly as two
 * statements in a row (the first advances the generation, the second matches no row and
 * takes the grace path). Each caller is answered only after that commit. A batch that
 * fails commits nothing; its rotations then run one by one, each with its own outcome.
 */
export function commitRotation(
  db: Database,
  step: RotationStep,
  groupCommit: GroupCommit | undefined,
): Promise<RotatedRow | undefined> {
  if (!groupCommit) return runOne(db, step);
  const queue = queues.get(db) ?? { waiting: [], scheduled: false, committing: false };
  queues.set(db, queue);
  const promise = new Promise<RotatedRow | undefined>((resolve, reject) => {
    queue.waiting.push({ step, resolve, reject });
  });
  schedule(db, queue, groupCommit);
  return promise;
}

function schedule(db: Database, queue: Queue, groupCommit: GroupCommit) {
  if (queue.scheduled || queue.committing || queue.waiting.length === 0) return;
  queue.scheduled = true;
  groupCommit(() => {
    queue.scheduled = false;
    queue.committing = true;
    const batch = queue.waiting.splice(0, MAX_ROTATIONS_PER_BATCH);
    commitBatch(db, batch).finally(() => {
      queue.committing = false;
      schedule(db, queue, groupCommit);
    });
  });
}

async function commitBatch(db: Database, batch: Waiting[]): Promise<void> {
  const [first, ...rest] = batch;
  if (!first) return;
  if (rest.length === 0) {
    await runOne(db, first.step).then(first.resolve, first.reject);
    return;
  }
  const statement = rotationStatement(db);
  let results: unknown[];
  try {
    results = await db.batch([
      preparedBatchItem(statement, first.step),
      ...rest.map((w) => preparedBatchItem(statement, w.step)),
    ]);
  } catch {
    // Nothing of the batch was committed: each rotation on its own, in order, with its own
    // outcome.
    for (const w of batch) await runOne(db, w.step).then(w.resolve, w.reject);
    return;
  }
  for (const [i, w] of batch.entries()) w.resolve((results[i] as RotatedRow[])[0]);
}
