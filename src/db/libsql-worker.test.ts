import { join } from "node:path";
import { createClient, LibsqlError } from "@libsql/client";
import { describe, expect, it, onTestFinished } from "vitest";
import { tempDir } from "../../tests/harness/temp-dir.ts";
import { isUniqueViolation } from "./errors.ts";
import { createWorkerClient } from "./libsql-worker.ts";

/** The thread-backed client and the plain one on the same file, for side-by-side answers. */
async function clients() {
  const path = join(await tempDir("tessera-worker-"), "t.db");
  const url = `file:${path}`;
  const worker = createWorkerClient({ url, timeout: 5000 }, { path });
  const plain = createClient({ url, timeout: 5000 });
  onTestFinished(() => {
    worker.close();
    plain.close();
  });
  await worker.execute("PRAGMA journal_mode = WAL");
  await worker.execute(
    "CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, n INTEGER, b BLOB)",
  );
  return { worker, plain };
}

describe("the database thread's client", () => {
  it("answers as @libsql/client does: rows, columns, counts, ids, blobs", async () => {
    const { worker, plain } = await clients();
    const inserted = await worker.execute({
      sql: "INSERT INTO t (email, n, b) VALUES (?, ?, ?)",
      args: ["a@example.com", 7, new Uint8Array([1, 2, 3]).buffer],
    });
    expect(inserted.rowsAffected).toBe(1);
    expect(inserted.lastInsertRowid).toBe(1n);
    const sql = "SELECT id, email, n, b, n AS n FROM t";
    const [ours, theirs] = [await worker.execute(sql), await plain.execute(sql)];
    expect(ours.columns).toEqual(theirs.columns);
    expect(ours.columnTypes).toEqual(theirs.columnTypes);
    const [row, reference] = [ours.rows[0], theirs.rows[0]];
    // Indexable, a non-enumerable length, the column names enumerable.
    expect(row?.length).toBe(reference?.length);
    expect(Array.prototype.slice.call(row)).toEqual(Array.prototype.slice.call(reference));
    expect(Object.keys(row ?? {})).toEqual(Object.keys(reference ?? {}));
    expect(row?.email).toBe("a@example.com");
    expect(new Uint8Array(row?.b as ArrayBuffer)).toEqual(new Uint8Array([1, 2, 3]));
    expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs));
  });

  it("a cached read answers for its own arguments whatever the statement ran before", async () => {
    const { worker, plain } = await clients();
    for (const [email, n] of [
      ["a@example.com", 1],
      ["b@example.com", 1],
      ["c@example.com", 1],
      ["d@example.com", 2],
    ] as const) {
      await worker.execute({ sql: "INSERT INTO t (email, n) VALUES (?, ?)", args: [email, n] });
    }
    // One SQL text, so one cached statement: a read of several rows, then one-row reads with
    // other arguments (libsql's `get` would have answered these with the previous arguments).
    const sql = "SELECT email FROM t WHERE n = ? ORDER BY id limit ?";
    const expected: Array<[[number, number], string[]]> = [
      [
        [1, 5],
        ["a@example.com", "b@example.com", "c@example.com"],
      ],
      [[2, 1], ["d@example.com"]],
      [
        [1, 2],
        ["a@example.com", "b@example.com"],
      ],
      [[3, 1], []],
      [[1, 1], ["a@example.com"]],
      [[2, 5], ["d@example.com"]],
    ];
    for (const [args, emails] of expected) {
      const [ours, theirs] = [
        await worker.execute({ sql, args }),
        await plain.execute({ sql, args }),
      ];
      expect(ours.rows.map((row) => row.email)).toEqual(emails);
      expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs));
    }
  });

  it("runs a batch in one transaction and reports a broken constraint with its codes", async () => {
    const { worker, plain } = await clients();
    await worker.execute({ sql: "INSERT INTO t (email) VALUES (?)", args: ["a@example.com"] });
    const batch = worker.batch([
      { sql: "INSERT INTO t (email) VALUES (?)", args: ["b@example.com"] },
      { sql: "INSERT INTO t (email) VALUES (?)", args: ["a@example.com"] },
    ]);
    await expect(batch).rejects.toBeInstanceOf(LibsqlError);
    expect(isUniqueViolation(await batch.catch((e: unknown) => e))).toBe(true);
    // Rolled back whole: b@ is not there either.
    expect((await worker.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(1);
    const duplicate = { sql: "INSERT INTO t (email) VALUES (?)", args: ["a@example.com"] };
    const single = await worker.execute(duplicate).catch((e: unknown) => e);
    const reference = await plain.execute(duplicate).catch((e: unknown) => e);
    expect(single).toBeInstanceOf(LibsqlError);
    const codes = (e: unknown) => {
      const { name, message, code, extendedCode, rawCode } = e as LibsqlError;
      return { name, message, code, extendedCode, rawCode };
    };
    expect(codes(single)).toEqual(codes(reference));
    expect(isUniqueViolation(single)).toBe(true);
  });

  it("reads see every write before them; a failing read reports as the client does", async () => {
    const { worker, plain } = await clients();
    const select = { sql: "SELECT email FROM t WHERE id = ?", args: [1] };
    expect((await worker.execute(select)).rows).toHaveLength(0);
    await worker.execute({ sql: "INSERT INTO t (id, email) VALUES (1, ?)", args: ["a@x"] });
    expect((await worker.execute(select)).rows[0]?.email).toBe("a@x");
    await plain.execute({ sql: "UPDATE t SET email = ? WHERE id = 1", args: ["b@x"] });
    expect((await worker.execute(select)).rows[0]?.email).toBe("b@x");
    const missing = "SELECT * FROM nowhere";
    const ours = await worker.execute(missing).catch((e: unknown) => e);
    const theirs = await plain.execute(missing).catch((e: unknown) => e);
    expect(ours).toBeInstanceOf(LibsqlError);
    expect((ours as LibsqlError).message).toBe((theirs as LibsqlError).message);
    expect((ours as LibsqlError).code).toBe((theirs as LibsqlError).code);
  });

  it("keeps statements in the order they were sent", async () => {
    const { worker } = await clients();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        worker.execute({ sql: "INSERT INTO t (id, email) VALUES (?, ?)", args: [i, `${i}@x`] }),
      ),
    );
    const { rows } = await worker.execute("SELECT id FROM t ORDER BY rowid");
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("refuses work once closed", async () => {
    const { worker } = await clients();
    worker.close();
    expect(worker.closed).toBe(true);
    await expect(worker.execute("SELECT 1")).rejects.toMatchObject({ code: "CLIENT_CLOSED" });
  });
});
