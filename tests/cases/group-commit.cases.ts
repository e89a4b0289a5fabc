import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sessions } from "../../src/db/schema.ts";
import { InvalidRefreshToken } from "../../src/errors.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { deriveKeys } from "../../src/secrets/derive-keys.ts";
import { sessionPolicy } from "../../src/sessions/session-policy.ts";
import { rotateRefreshToken } from "../../src/tokens/rotate-refresh-token.ts";
import {
  commitRotation,
  type GroupCommit,
  MAX_ROTATIONS_PER_BATCH,
  type RotationStep,
} from "../../src/tokens/rotation-commits.ts";
import { openHarness } from "../harness/open.ts";
import type { Harness, HarnessFactory } from "../harness/types.ts";
import { login, manualSchedule, settle, signup } from "./helpers.ts";

/** A group commit the test flushes by hand, so what goes in one batch is certain. */
function manualGroupCommit(maxInFlight = 2) {
  const manual = manualSchedule();
  const groupCommit: GroupCommit = { schedule: manual.schedule, maxInFlight };
  return {
    groupCommit,
    /**
     * Runs the flush that is due (exactly one must be, once the callers have queued), then
     * lets its commit settle.
     */
    flush: async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(manual.due()).toBe(1);
      manual.runNext();
      await settle();
    },
    due: manual.due,
    /** Starts the due flush's batch without waiting for its commit. */
    start: () => {
      expect(manual.due()).toBe(1);
      manual.runNext();
    },
  };
}

const parse = (token: string) => {
  const [sid, generation] = token.split(".");
  return { sid: sid as string, generation: Number(generation) };
};

const stepFor = (h: Harness, token: string, clientId = "first-party"): RotationStep => {
  const { sid, generation } = parse(token);
  const now = h.clock.now();
  return {
    id: sid,
    generation,
    next: generation + 1,
    now,
    idleSince: now - h.config.refreshIdleTtl * 1000,
    clientId,
  };
};

const generationOf = async (h: Harness, sid: string) =>
  (await h.db.select().from(sessions).where(eq(sessions.id, sid)))[0]?.generation;

/** Settled state of a promise without awaiting it. */
const state = (promise: Promise<unknown>) => {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  return () => settled;
};

/**
 * Group commit of refresh rotations (src/tokens/rotation-commits.ts): the rotations queued
 * together run as one `db.batch`, in order, each caller answered after the commit; the same
 * batch code runs on libSQL and D1.
 */
export function groupCommitCases(createHarness: HarnessFactory) {
  describe("group commit of rotations", () => {
    it("commits the rotations queued together in one batch and answers each after it", async () => {
      const h = await openHarness(createHarness);
      const { email, tokens } = await signup(h);
      const others = [tokens.refresh_token];
      for (let i = 0; i < 3; i++) others.push((await login(h, email)).refresh_token);
      const manual = manualGroupCommit();
      const pending = others.map((t) => commitRotation(h.db, stepFor(h, t), manual.groupCommit));
      const settled = pending.map(state);
      // Nothing runs before the flush: no caller is answered, no generation moved.
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(settled.map((s) => s())).toEqual([false, false, false, false]);
      expect(await generationOf(h, parse(others[0] as string).sid)).toBe(0);
      await manual.flush();
      const rows = await Promise.all(pending);
      for (const row of rows) expect(row).toMatchObject({ clientId: "first-party" });
      for (const t of others) expect(await generationOf(h, parse(t).sid)).toBe(1);
      expect(manual.due()).toBe(0);
    });

    it("runs two rotations of one session in one batch as two statements in a row", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const manual = manualGroupCommit();
      const step = stepFor(h, tokens.refresh_token);
      const first = commitRotation(h.db, step, manual.groupCommit);
      const second = commitRotation(h.db, step, manual.groupCommit);
      await manual.flush();
      expect(await first).toMatchObject({ clientId: "first-party" });
      // The second matched no row: generation was already g+1 (step 3 finds out why).
      expect(await second).toBeUndefined();
      expect(await generationOf(h, step.id)).toBe(1);
    });

    it("a batch refuses exactly what the single statement refuses", async () => {
      const h = await openHarness(createHarness);
      const { email, tokens } = await signup(h);
      const chains = [tokens.refresh_token];
      for (let i = 0; i < 5; i++) chains.push((await login(h, email)).refresh_token);
      const [live, revoked, ended, idle, otherClient, wrongGeneration] = chains.map(
        (t) => parse(t).sid,
      ) as [string, string, string, string, string, string];
      const now = h.clock.now();
      await h.db.update(sessions).set({ revokedAt: now }).where(eq(sessions.id, revoked));
      await h.db.update(sessions).set({ expiresAt: now }).where(eq(sessions.id, ended));
      await h.db
        .update(sessions)
        .set({ lastUsedAt: now - h.config.refreshIdleTtl * 1000 })
        .where(eq(sessions.id, idle));
      const steps = chains.map((t) => stepFor(h, t));
      const at = (i: number) => steps[i] as RotationStep;
      const cases: RotationStep[] = [
        at(0),
        at(1),
        at(2),
        at(3),
        { ...at(4), clientId: "another-client" },
        { ...at(5), generation: 1, next: 2 },
      ];
      // Revoked, ended, idle, another client's, a generation ahead: each fails one condition.
      const manual = manualGroupCommit();
      const pending = cases.map((step) => commitRotation(h.db, step, manual.groupCommit));
      await manual.flush();
      const rows = await Promise.all(pending);
      expect(rows.map((row) => row !== undefined)).toEqual([
        true,
        false,
        false,
        false,
        false,
        false,
      ]);
      expect(await generationOf(h, live)).toBe(1);
      for (const sid of [revoked, ended, idle, otherClient, wrongGeneration]) {
        expect(await generationOf(h, sid)).toBe(0);
      }
      // And the single statement agrees, case by case.
      for (const step of cases.slice(1)) {
        expect(await commitRotation(h.db, step, undefined)).toBeUndefined();
      }
    });

    it("through rotateRefreshToken: racers in one batch converge, an older token revokes", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const { refreshMacKey } = await deriveKeys(h.config.secret as string);
      const manual = manualGroupCommit();
      const deps = {
        db: h.db,
        policy: sessionPolicy(h.config),
        macKey: refreshMacKey,
        logger: createLogger("error"),
        groupCommit: manual.groupCommit,
      };
      const rotate = (refreshToken: string) =>
        rotateRefreshToken(deps, { refreshToken, clientId: "first-party", now: h.clock.now() });
      const racers = [rotate(tokens.refresh_token), rotate(tokens.refresh_token)];
      await manual.flush();
      const [a, b] = await Promise.all(racers);
      expect(a?.generation).toBe(1);
      expect(b?.refreshToken).toBe(a?.refreshToken);

      // Next round, in one batch: the live token rotates first, then the generation-0
      // token (two behind now) is replay and ends the session.
      const live = rotate(a?.refreshToken as string);
      const replay = rotate(tokens.refresh_token);
      replay.catch(() => {});
      await manual.flush();
      expect((await live).generation).toBe(2);
      await expect(replay).rejects.toBeInstanceOf(InvalidRefreshToken);
      const [row] = await h.db
        .select()
        .from(sessions)
        .where(eq(sessions.id, a?.sessionId ?? ""));
      expect(row?.revokedReason).toBe("refresh_token_reuse");
    });

    it("a batch that fails commits nothing; its rotations then run one by one", async () => {
      const h = await openHarness(createHarness);
      const { email, tokens } = await signup(h);
      const other = (await login(h, email)).refresh_token;
      const manual = manualGroupCommit();
      const good = [
        commitRotation(h.db, stepFor(h, tokens.refresh_token), manual.groupCommit),
        commitRotation(h.db, stepFor(h, other), manual.groupCommit),
      ];
      // A value no driver binds (libSQL's file driver, Hrana and D1 all refuse undefined) fails
      // the batch.
      const bad = commitRotation(
        h.db,
        { ...stepFor(h, other), id: undefined as unknown as string },
        manual.groupCommit,
      );
      bad.catch(() => {});
      await manual.flush();
      await expect(bad).rejects.toThrow();
      for (const row of await Promise.all(good))
        expect(row).toMatchObject({ userId: expect.any(String) });
      expect(await generationOf(h, parse(tokens.refresh_token).sid)).toBe(1);
      expect(await generationOf(h, parse(other).sid)).toBe(1);
    });

    it("sends a second batch while the first commits; a session the first holds waits for it", async () => {
      const h = await openHarness(createHarness);
      const { email, tokens } = await signup(h);
      const other = (await login(h, email)).refresh_token;
      const third = (await login(h, email)).refresh_token;
      const manual = manualGroupCommit();
      const s = stepFor(h, tokens.refresh_token);
      const first = [
        commitRotation(h.db, s, manual.groupCommit),
        commitRotation(h.db, stepFor(h, other), manual.groupCommit),
      ];
      const firstSettled = first.map(state);
      await new Promise((resolve) => setTimeout(resolve, 0));
      manual.start();
      // At once, before the first batch can be answered: the session's next rotation, and
      // another session's. A second batch is due at once and starts while the first runs.
      const next = commitRotation(
        h.db,
        { ...s, generation: s.generation + 1, next: s.next + 1 },
        manual.groupCommit,
      );
      const unrelated = commitRotation(h.db, stepFor(h, third), manual.groupCommit);
      manual.start();
      expect(firstSettled.map((settled) => settled())).toEqual([false, false]);
      // The second batch took only the other session: it commits on its own.
      expect(await unrelated).toMatchObject({ clientId: "first-party" });
      for (const row of await Promise.all(first))
        expect(row).toMatchObject({ clientId: "first-party" });
      // The held rotation went to a third batch, after the first's commit: it advanced.
      await manual.flush();
      expect(await next).toMatchObject({ clientId: "first-party" });
      expect(await generationOf(h, s.id)).toBe(2);
      expect(await generationOf(h, parse(third).sid)).toBe(1);
      expect(manual.due()).toBe(0);
    });

    it("with one batch in flight (a server's setting), the next is sent after the first's answer", async () => {
      const h = await openHarness(createHarness);
      const { email, tokens } = await signup(h);
      const other = (await login(h, email)).refresh_token;
      const manual = manualGroupCommit(1);
      const first = commitRotation(h.db, stepFor(h, tokens.refresh_token), manual.groupCommit);
      const firstSettled = state(first);
      await new Promise((resolve) => setTimeout(resolve, 0));
      manual.start();
      const second = commitRotation(h.db, stepFor(h, other), manual.groupCommit);
      // Nothing is due while the first batch runs; once it is answered, the second is.
      expect(manual.due()).toBe(0);
      expect(await first).toMatchObject({ clientId: "first-party" });
      expect(firstSettled()).toBe(true);
      await manual.flush();
      expect(await second).toMatchObject({ clientId: "first-party" });
    });

    it("queues what arrives beyond one batch for the next", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const manual = manualGroupCommit();
      // One session's chain: each step is the previous one's successor, so all succeed in
      // order, across two batches.
      const { sid } = parse(tokens.refresh_token);
      const now = h.clock.now();
      const idleSince = now - h.config.refreshIdleTtl * 1000;
      const count = MAX_ROTATIONS_PER_BATCH + 3;
      const pending = Array.from({ length: count }, (_, g) =>
        commitRotation(
          h.db,
          { id: sid, generation: g, next: g + 1, now, idleSince, clientId: "first-party" },
          manual.groupCommit,
        ),
      );
      await manual.flush();
      // The second batch holds the same session: it may run once the first has committed (on
      // a busy machine that takes longer than flush() waits).
      await Promise.all(pending.slice(0, MAX_ROTATIONS_PER_BATCH));
      await manual.flush();
      const rows = await Promise.all(pending);
      expect(rows.every((row) => row !== undefined)).toBe(true);
      expect(await generationOf(h, sid)).toBe(count);
    });
  });
}
