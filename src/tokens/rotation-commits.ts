import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { prepared } from "../db/prepared.ts";
import { sessions } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import type { Schedule } from "../lib/schedule.ts";

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
 * Group commit (Node; unset on the Worker, where every rotation commits on its own).
 * `schedule` runs `flush` once the requests already received have queued their rotations
 * (Node: `setImmediate`, after the event loop's I/O phase). `maxInFlight` is how many batches
 * may be sent before the first is answered: 2 where the database runs them in order without
 * waiting (the embedded file's thread: the next batch is already there while the event loop
 * answers the previous one), 1 for a server, where a second transaction would only wait on
 * the first's lock (on sqld, 15–20 % slower at 16 connections).
 */
export type GroupCommit = { schedule: Schedule; maxInFlight: number };

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

/**
 * Per database: rotations waiting for a batch, whether one is due, how many batches run, and
 * the sessions they hold (a session is in at most one running batch: {@link takeBatch}).
 */
type Queue = {
  waiting: Waiting[];
  scheduled: boolean;
  inFlight: number;
  busySessions: Set<string>;
};

const queues = new WeakMap<Database, Queue>();

const runOne = async (db: Database, step: RotationStep) =>
  (await rotationStatement(db).execute(step))[0];

/**
 * Runs step 2 for one refresh and resolves once it is committed. With `groupCommit`, the
 * rotations that arrive together (in one event-loop turn, or while earlier batches are
 * being committed) go to the database together: one multi-row statement (or a `db.batch`
 * of several), one transaction, one fsync. Up to `groupCommit.maxInFlight` batches run
 * at once, and a server may commit them in either order, which is the order of concurrent
 * requests it is free to choose. A session's rotations, though, always run one after the
 * other: its second rotation in a batch runs in a later statement than its first, and a
 * rotation of a session that an earlier batch still holds waits for that batch's commit. So
 * two rotations of one session behave exactly as two statements in a row (the first
 * advances the generation, the second matches no row and takes the grace path). Each caller
 * is answered only after its commit. A batch that fails commits nothing; its rotations then
 * run one by one, each with its own outcome.
 */
export function commitRotation(
  db: Database,
  step: RotationStep,
  groupCommit: GroupCommit | undefined,
): Promise<RotatedRow | undefined> {
  if (!groupCommit) return runOne(db, step);
  const queue: Queue = queues.get(db) ?? {
    waiting: [],
    scheduled: false,
    inFlight: 0,
    busySessions: new Set(),
  };
  queues.set(db, queue);
  const promise = new Promise<RotatedRow | undefined>((resolve, reject) => {
    queue.waiting.push({ step, resolve, reject });
  });
  schedule(db, queue, groupCommit);
  return promise;
}

function schedule(db: Database, queue: Queue, groupCommit: GroupCommit) {
  if (queue.scheduled || queue.inFlight >= groupCommit.maxInFlight || queue.waiting.length === 0) {
    return;
  }
  queue.scheduled = true;
  groupCommit.schedule(() => {
    queue.scheduled = false;
    const batch = takeBatch(queue);
    if (batch.length === 0) return;
    queue.inFlight++;
    const held = new Set(batch.map((w) => w.step.id));
    for (const id of held) queue.busySessions.add(id);
    commitBatch(db, batch)
      // A caller is never left waiting: anything unexpected fails the callers not yet
      // answered (settling an answered one again changes nothing).
      .catch((error: unknown) => {
        for (const w of batch) w.reject(error);
      })
      .finally(() => {
        queue.inFlight--;
        for (const id of held) queue.busySessions.delete(id);
        schedule(db, queue, groupCommit);
      });
    // What did not fit, or waits for a session held by a running batch, goes next.
    schedule(db, queue, groupCommit);
  });
}

/**
 * Up to {@link MAX_ROTATIONS_PER_BATCH} waiting rotations in arrival order, leaving those of
 * sessions that a running batch holds (and every later rotation of those sessions) waiting.
 */
function takeBatch(queue: Queue): Waiting[] {
  if (queue.busySessions.size === 0) return queue.waiting.splice(0, MAX_ROTATIONS_PER_BATCH);
  const batch: Waiting[] = [];
  const kept: Waiting[] = [];
  for (const w of queue.waiting) {
    if (batch.length < MAX_ROTATIONS_PER_BATCH && !queue.busySessions.has(w.step.id)) {
      batch.push(w);
    } else kept.push(w);
  }
  queue.waiting = kept;
  return batch;
}

/** Six parameters a row: D1 binds at most 100 a statement. */
const ROWS_PER_STATEMENT = 16;

const column = (c: { name: string }) => sql.identifier(c.name);

/**
 * Step 2 for several sessions in one statement: the same conditions and assignments, each
 * row with its own values, matched by `id` (so no session may appear twice in one
 * statement); RETURNING says which sessions advanced. One statement instead of one per
 * rotation costs a fifth of the CPU (one prepare, one pass).
 */
function rotationsStatement(db: Database, steps: RotationStep[]) {
  const s = sessions;
  const rows = sql.join(
    steps.map(
      (r) => sql`(${r.id}, ${r.generation}, ${r.next}, ${r.now}, ${r.idleSince}, ${r.clientId})`,
    ),
    sql`, `,
  );
  // VALUES names its columns column1…column6, in the order above.
  return db.values<[string, string, string, number, string | null]>(sql`
    UPDATE ${s}
       SET ${column(s.generation)} = v.column3,
           ${column(s.rotatedAt)} = v.column4,
           ${column(s.lastUsedAt)} = v.column4
      FROM (VALUES ${rows}) AS v
     WHERE ${column(s.id)} = v.column1
       AND ${column(s.generation)} = v.column2
       AND ${column(s.revokedAt)} IS NULL
       AND ${column(s.expiresAt)} > v.column4
       AND ${column(s.lastUsedAt)} > v.column5
       AND ${column(s.clientId)} = v.column6
    RETURNING ${column(s.id)}, ${column(s.userId)}, ${column(s.clientId)},
              ${column(s.expiresAt)}, ${column(s.scope)}`);
}

async function commitBatch(db: Database, batch: Waiting[]): Promise<void> {
  const [first, ...rest] = batch;
  if (!first) return;
  if (rest.length === 0) {
    await runOne(db, first.step).then(first.resolve, first.reject);
    return;
  }
  // Round k holds each session's k-th rotation of the batch: a session's second rotation
  // runs in a statement after its first, exactly as two statements in a row would.
  const rounds: Waiting[][] = [];
  const seen = new Map<string, number>();
  for (const w of batch) {
    const k = seen.get(w.step.id) ?? 0;
    seen.set(w.step.id, k + 1);
    const round = rounds[k] ?? [];
    round.push(w);
    rounds[k] = round;
  }
  const chunks = rounds.flatMap((round) =>
    Array.from({ length: Math.ceil(round.length / ROWS_PER_STATEMENT) }, (_, i) =>
      round.slice(i * ROWS_PER_STATEMENT, (i + 1) * ROWS_PER_STATEMENT),
    ),
  );
  const [head, ...tail] = chunks.map((chunk) =>
    rotationsStatement(
      db,
      chunk.map((w) => w.step),
    ),
  );
  let results: unknown[][][];
  try {
    if (!head) return;
    results = tail.length === 0 ? [await head] : await db.batch([head, ...tail]);
  } catch {
    // Nothing of the batch was committed: each rotation on its own, in order, with its own
    // outcome.
    for (const w of batch) await runOne(db, w.step).then(w.resolve, w.reject);
    return;
  }
  for (const [i, chunk] of chunks.entries()) {
    // Rows are arrays on D1 and array-like (indexable, not iterable) on libSQL.
    const advanced = new Map<string, RotatedRow>();
    for (const row of (results[i] ?? []) as ArrayLike<unknown>[]) {
      advanced.set(row[0] as string, {
        userId: row[1] as string,
        clientId: row[2] as string,
        expiresAt: row[3] as number,
        scope: row[4] as string | null,
      });
    }
    for (const w of chunk) w.resolve(advanced.get(w.step.id));
  }
}
