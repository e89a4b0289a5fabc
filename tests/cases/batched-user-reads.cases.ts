import { describe, expect, it } from "vitest";
import { batchedUserReads, MAX_USERS_PER_READ } from "../../src/users/batched-user-reads.ts";
import { openHarness } from "../harness/open.ts";
import type { Harness, HarnessFactory } from "../harness/types.ts";
import { bearer, json, PASSWORD, signup } from "./helpers.ts";

/** A schedule the test runs by hand, so what goes in one batch is certain. */
function manualSchedule() {
  const due: Array<() => void> = [];
  return {
    schedule: (run: () => void) => {
      due.push(run);
    },
    due: () => due.length,
    /** Runs every batch that is due, then lets its query and the callers settle. */
    runDue: async () => {
      for (const run of due.splice(0)) run();
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 0));
    },
  };
}

/** A fresh account: its id and email, and a token for it. */
async function account(h: Harness) {
  const { email, tokens } = await signup(h);
  const me = (await (await h.request("/v1/me", bearer(tokens.access_token))).json()) as {
    id: string;
  };
  return { id: me.id, email, accessToken: tokens.access_token };
}

/**
 * Batched user reads (src/users/batched-user-reads.ts): the reads asked for in one turn are
 * one query, each caller gets its own user, and nothing is kept between batches. The same
 * code runs on libSQL, sqld and D1.
 */
export function batchedUserReadCases(createHarness: HarnessFactory) {
  describe("batched user reads", () => {
    it("answers the reads asked for together from one batch, each with its own user", async () => {
      const h = await openHarness(createHarness);
      const [a, b, c] = [await account(h), await account(h), await account(h)];
      const manual = manualSchedule();
      const read = batchedUserReads(h.db, manual.schedule);
      let settled = 0;
      const pending = [a.id, b.id, "no-such-user", a.id, c.id].map((id) =>
        read(id).finally(() => settled++),
      );
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(manual.due()).toBe(1);
      expect(settled).toBe(0);
      await manual.runDue();
      const users = await Promise.all(pending);
      expect(users.map((u) => u?.email)).toEqual([a.email, b.email, undefined, a.email, c.email]);
      expect(users.map((u) => u?.id)).toEqual([a.id, b.id, undefined, a.id, c.id]);
      expect(manual.due()).toBe(0);
    });

    it("keeps nothing between batches: a user deleted after one is not found by the next", async () => {
      const h = await openHarness(createHarness);
      const a = await account(h);
      const manual = manualSchedule();
      const read = batchedUserReads(h.db, manual.schedule);
      const before = read(a.id);
      await manual.runDue();
      expect((await before)?.email).toBe(a.email);
      const deleted = await h.request(
        "/v1/me",
        bearer(a.accessToken, { ...json({ password: PASSWORD }), method: "DELETE" }),
      );
      expect(deleted.status).toBe(204);
      const after = read(a.id);
      await manual.runDue();
      expect(await after).toBeUndefined();
    });

    it(`splits more than ${MAX_USERS_PER_READ} reads into batches of at most that many`, async () => {
      const h = await openHarness(createHarness);
      const [a, b] = [await account(h), await account(h)];
      const manual = manualSchedule();
      const read = batchedUserReads(h.db, manual.schedule);
      const ids = Array.from({ length: MAX_USERS_PER_READ + 6 }, (_, i) =>
        i % 3 === 0 ? a.id : i % 3 === 1 ? b.id : `missing-${i}`,
      );
      const pending = ids.map((id) => read(id));
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(manual.due()).toBe(2);
      await manual.runDue();
      const users = await Promise.all(pending);
      expect(users.map((u) => u?.id)).toEqual(
        ids.map((id) => (id.startsWith("missing") ? undefined : id)),
      );
    });

    it("GET /v1/me of many users at once: each caller sees only its own account", async () => {
      const h = await openHarness(createHarness);
      const accounts = [];
      for (let i = 0; i < 8; i++) accounts.push(await account(h));
      const answers = await Promise.all(
        accounts.map((a) => h.request("/v1/me", bearer(a.accessToken))),
      );
      for (const [i, res] of answers.entries()) {
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ id: accounts[i]?.id, email: accounts[i]?.email });
      }
    });
  });
}
