import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { afterIoPhase } from "../../src/node-runtime.ts";
import { batchedUserReads } from "../../src/users/batched-user-reads.ts";
import { account } from "../cases/batched-user-reads.cases.ts";
import { bearer, manualSchedule } from "../cases/helpers.ts";
import { nodeHarnessOn, tempFile } from "../harness/node.ts";
import { openHarness } from "../harness/open.ts";

// What only the Node entry does: its schedule of batched user reads, as the app uses it.
describe("batched user reads on Node", () => {
  it("the GET /v1/me of eight users at once are one batch", async () => {
    let batches = 0;
    const counted = nodeHarnessOn(tempFile, {
      batchReads: (run) => {
        batches++;
        afterIoPhase(run);
      },
    });
    const h = await openHarness(counted);
    const accounts = [];
    for (let i = 0; i < 8; i++) accounts.push(await account(h));
    batches = 0;
    const answers = await Promise.all(
      accounts.map((a) => h.request("/v1/me", bearer(a.accessToken))),
    );
    expect(batches).toBe(1);
    for (const [i, res] of answers.entries()) {
      expect(await res.json()).toMatchObject({ id: accounts[i]?.id, email: accounts[i]?.email });
    }
  });

  it("a failed query fails every read of its batch with its error; the next batch reads again", async () => {
    const h = await openHarness(nodeHarnessOn(tempFile));
    const [a, b] = [await account(h), await account(h)];
    const manual = manualSchedule();
    const read = batchedUserReads(h.db, manual.schedule);
    await h.db.run(sql`ALTER TABLE users RENAME TO users_away`);
    const failed = [a.id, b.id, "nobody"].map((id) => read(id));
    const errors = failed.map((p) =>
      p.then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
    await manual.runDue();
    const [first, ...rest] = await Promise.all(errors);
    // drizzle names the query; the driver's error is its cause.
    expect(String((first as Error).cause)).toMatch(/no such table: users/);
    for (const error of rest) expect(error).toBe(first);
    await h.db.run(sql`ALTER TABLE users_away RENAME TO users`);
    const again = [a.id, b.id].map((id) => read(id));
    await manual.runDue();
    expect((await Promise.all(again)).map((u) => u?.email)).toEqual([a.email, b.email]);
  });
});
