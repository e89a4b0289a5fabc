import { describe, expect, it } from "vitest";
import { batchedUserReads } from "../../src/users/batched-user-reads.ts";
import { findUsersByIds, MAX_USER_IDS } from "../../src/users/users.ts";
import { openHarness } from "../harness/open.ts";
import type { Harness, HarnessFactory } from "../harness/types.ts";
import { bearer, json, manualSchedule, PASSWORD, signup } from "./helpers.ts";

/** A fresh account: its id and email, and a token for it. */
export async function account(h: Harness) {
  const { email, tokens } = await signup(h);
  const me = (await (await h.request("/v1/me", bearer(tokens.access_token))).json()) as {
    id: string;
  };
  return { id: me.id, email, accessToken: tokens.access_token };
}

/**
 * Batched user reads (src/users/batched-user-reads.ts): the reads asked for together are one
 * batch, read by one query (`findUsersByIds`), each caller gets its own user, and nothing is
 * kept between batches. The same code runs on libSQL, sqld and D1.
 */
export function batchedUserReadCases(createHarness: HarnessFactory) {
  describe("batched user reads", () => {
    it("findUsersByIds answers position by position: repeats, unknown ids, one id, the most ids", async () => {
      const h = await openHarness(createHarness);
      const [a, b] = [await account(h), await account(h)];
      const emails = async (ids: string[]) =>
        (await findUsersByIds(h.db, ids)).map((u) => u?.email);
      expect(await emails([b.id, "nobody", a.id, b.id])).toEqual([
        b.email,
        undefined,
        a.email,
        b.email,
      ]);
      // One distinct id, asked twice: the point read, answered to both.
      expect(await emails([a.id, a.id])).toEqual([a.email, a.email]);
      // The largest statement (D1 binds at most 100 values).
      const most = [a.id, ...Array.from({ length: MAX_USER_IDS - 2 }, (_, i) => `nobody-${i}`)];
      most.push(b.id);
      const answered = await emails(most);
      expect(answered).toHaveLength(MAX_USER_IDS);
      expect([answered[0], answered.at(-1), answered.filter(Boolean).length]).toEqual([
        a.email,
        b.email,
        2,
      ]);
      await expect(findUsersByIds(h.db, [...most, "one-too-many"])).rejects.toThrow(RangeError);
    });

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

    it(`splits more than ${MAX_USER_IDS} reads into batches of at most that many`, async () => {
      const h = await openHarness(createHarness);
      const [a, b] = [await account(h), await account(h)];
      const manual = manualSchedule();
      const read = batchedUserReads(h.db, manual.schedule);
      // The first batch: a, b and 62 other distinct ids; the second: the 6 left.
      const ids = [a.id, b.id, ...Array.from({ length: MAX_USER_IDS + 4 }, (_, i) => `gone-${i}`)];
      const pending = ids.map((id) => read(id));
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(manual.due()).toBe(2);
      await manual.runDue();
      const users = await Promise.all(pending);
      expect(users.map((u) => u?.id)).toEqual(
        ids.map((id) => (id.startsWith("gone") ? undefined : id)),
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
