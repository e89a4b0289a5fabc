import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import {
  type Client,
  type Config,
  type InArgs,
  type InStatement,
  LibsqlBatchError,
  LibsqlError,
  type ResultSet,
  type Row,
  type TransactionMode,
} from "@libsql/client";

/** A ResultSet as it crosses threads: rows as plain arrays. */
type WireResult = {
  columns: string[];
  columnTypes: string[];
  rows: unknown[][];
  rowsAffected: number;
  lastInsertRowid: bigint | undefined;
};

type WireError = {
  name?: string;
  message: string;
  code?: string;
  extendedCode?: string;
  rawCode?: number;
  statementIndex?: number;
  cause?: WireError;
};

type Reply = { id: number; result?: unknown; error?: WireError };

/**
 * The thread: @libsql/client on the file, exactly as the main thread would open it, one
 * request at a time in arrival order (each call is synchronous inside the driver). A
 * CommonJS string run with `eval`, so it needs no file of its own in `dist/`.
 */
const THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const wire = (rs) => ({
  columns: rs.columns,
  columnTypes: rs.columnTypes,
  rows: rs.rows.map((row) => Array.prototype.slice.call(row)),
  rowsAffected: rs.rowsAffected,
  lastInsertRowid: rs.lastInsertRowid,
});
const failure = (e, depth = 0) => ({
  name: e?.name,
  message: String(e?.message ?? e),
  code: e?.code,
  extendedCode: e?.extendedCode,
  rawCode: e?.rawCode,
  statementIndex: e?.statementIndex,
  cause: e?.cause && depth < 3 ? failure(e.cause, depth + 1) : undefined,
});
let opened;
try {
  opened = Promise.resolve(require(workerData.module).createClient(workerData.config));
} catch (error) {
  opened = Promise.reject(error);
  opened.catch(() => {});
}
parentPort.on("message", async ({ id, method, args }) => {
  try {
    const client = await opened;
    let result = null;
    if (method === "execute") result = wire(await client.execute(args[0]));
    else if (method === "batch") result = (await client.batch(args[0], args[1])).map(wire);
    else if (method === "migrate") result = (await client.migrate(args[0])).map(wire);
    else if (method === "executeMultiple") await client.executeMultiple(args[0]);
    else if (method === "close") client.close();
    parentPort.postMessage({ id, result });
  } catch (error) {
    parentPort.postMessage({ id, error: failure(error) });
  }
});
`;

function toResultSet(wire: WireResult): ResultSet {
  const { columns, columnTypes, rowsAffected, lastInsertRowid } = wire;
  // As @libsql/client's rows: indexable and with a non-enumerable length, each column name
  // an enumerable property (the first column of a repeated name wins).
  const rows = wire.rows.map((values) => {
    const row = {} as Row;
    Object.defineProperty(row, "length", { value: values.length });
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      Object.defineProperty(row, i, { value });
      const column = columns[i] as string;
      if (!Object.hasOwn(row, column)) {
        Object.defineProperty(row, column, {
          value,
          enumerable: true,
          configurable: true,
          writable: true,
        });
      }
    }
    return row;
  });
  return {
    columns,
    columnTypes,
    rows,
    rowsAffected,
    lastInsertRowid,
    // As @libsql/client's: bigints as strings, blobs as base64.
    toJSON: () => ({
      columns,
      columnTypes,
      rows: wire.rows.map((values) =>
        values.map((v) =>
          typeof v === "bigint"
            ? String(v)
            : v instanceof ArrayBuffer
              ? Buffer.from(v).toString("base64")
              : v,
        ),
      ),
      rowsAffected,
      lastInsertRowid: lastInsertRowid === undefined ? null : String(lastInsertRowid),
    }),
  };
}

/** The `libsql` driver @libsql/client itself loads (the same version and native build). */
type NativeStatement = {
  safeIntegers(on: boolean): NativeStatement;
  raw(on: boolean): NativeStatement;
  columns(): Array<{ name: string; type: string | null }>;
  all(args: unknown[]): unknown[][];
};
type NativeDatabase = { prepare(sql: string): NativeStatement; close(): void };

const SELECT = /^\s*select\b/i;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** As @libsql/client converts arguments and values (integers as numbers, blobs as ArrayBuffer). */
const toSql = (v: unknown) => {
  if (typeof v === "number" && !Number.isFinite(v)) throw new RangeError("not finite");
  if (typeof v === "boolean") return v ? 1 : 0;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (v instanceof Date) return v.valueOf();
  if (v === undefined) throw new TypeError("undefined argument");
  return v;
};
const fromSql = (v: unknown) => {
  if (typeof v === "bigint") {
    if (v > MAX_SAFE || v < -MAX_SAFE) throw new RangeError("unsafe integer");
    return Number(v);
  }
  return Buffer.isBuffer(v) ? v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) : v;
};

/**
 * SELECTs on the main thread, through statements prepared once on a connection of their own.
 * A read never syncs and, in WAL mode, never waits for the writer, so it costs the event loop
 * only the read itself: ~15 µs for a point read, against ~70 µs through @libsql/client (which
 * prepares every statement anew and asks for its columns twice) or a thread round trip.
 * Returns undefined for anything else, and for anything unusual (an error, an unsafe
 * integer, named arguments): the thread's client runs those and answers in its own shape.
 */
function mainThreadReader(path: string, timeout: number) {
  const Database = createRequire(createRequire(import.meta.url).resolve("@libsql/client"))(
    "libsql",
  ) as new (
    path: string,
    options: { timeout: number },
  ) => NativeDatabase;
  let db: NativeDatabase | undefined;
  const statements = new Map<string, { statement: NativeStatement; wire: WireResult }>();
  return {
    read(stmt: InStatement): ResultSet | undefined {
      const sql = typeof stmt === "string" ? stmt : stmt.sql;
      const args = typeof stmt === "string" ? [] : (stmt.args ?? []);
      if (!SELECT.test(sql) || !Array.isArray(args)) return undefined;
      try {
        db ??= new Database(path, { timeout });
        let entry = statements.get(sql);
        if (!entry) {
          const statement = db.prepare(sql).safeIntegers(true).raw(true);
          const columns = statement.columns();
          entry = {
            statement,
            wire: {
              columns: columns.map((c) => c.name),
              columnTypes: columns.map((c) => c.type ?? ""),
              rows: [],
              rowsAffected: 0,
              lastInsertRowid: undefined,
            },
          };
          if (statements.size >= 256) statements.clear();
          statements.set(sql, entry);
        }
        // Always `all`, never the driver's `get`: libsql 0.5's `get` does not reset a
        // statement that `all` (or a failed `get`) left halted, so it silently keeps the
        // previous call's arguments — another query's rows (tested).
        const rows = entry.statement.all(args.map(toSql)).map((row) => row.map(fromSql));
        return toResultSet({ ...entry.wire, rows });
      } catch {
        // A statement that failed mid-step is not reused.
        statements.delete(sql);
        return undefined;
      }
    },
    close: () => db?.close(),
  };
}

function toError(wire: WireError): Error {
  const cause = wire.cause ? toError(wire.cause) : undefined;
  if (wire.name !== "LibsqlError" && wire.name !== "LibsqlBatchError") {
    const error = new Error(wire.message, { cause });
    error.name = wire.name ?? "Error";
    return Object.assign(error, wire.code === undefined ? {} : { code: wire.code });
  }
  // LibsqlError puts "<code>: " before its message itself.
  const prefix = wire.code === undefined ? "" : `${wire.code}: `;
  const message = wire.message.startsWith(prefix)
    ? wire.message.slice(prefix.length)
    : wire.message;
  return wire.name === "LibsqlBatchError"
    ? new LibsqlBatchError(
        message,
        wire.statementIndex ?? 0,
        wire.code ?? "UNKNOWN",
        wire.extendedCode,
        wire.rawCode,
        cause,
      )
    : new LibsqlError(message, wire.code ?? "UNKNOWN", wire.extendedCode, wire.rawCode, cause);
}

/**
 * A `@libsql/client` Client for an embedded file whose driver runs on a worker thread. The
 * file driver is synchronous: on the main thread every statement — and every commit's fsync
 * (`synchronous` stays FULL) — would stop the event loop (~20 % of a refresh under load in
 * the profile). Here the main thread only posts the statement and reads the answer, and
 * keeps parsing requests while the thread commits. Same driver, same pragmas, same
 * statements in the same order; what crosses the thread is rebuilt into @libsql/client's
 * shapes (rows, `LibsqlError` codes). With `path`, SELECTs stay on the main thread
 * ({@link mainThreadReader}): a read sees every commit answered before it. Interactive
 * transactions are not offered (Tessera has none: D1 has none).
 */
export function createWorkerClient(config: Config, options: { path?: string } = {}): Client {
  const worker = new Worker(THREAD, {
    eval: true,
    // The driver as this module resolves it (CommonJS build: the thread runs CommonJS).
    workerData: {
      module: createRequire(import.meta.url).resolve("@libsql/client"),
      config,
    },
  });
  worker.unref();
  const pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (e: Error) => void }
  >();
  const reader = options.path ? mainThreadReader(options.path, config.timeout ?? 5000) : undefined;
  let nextId = 0;
  let closed = false;
  let failed: Error | undefined;
  worker.on("message", (reply: Reply) => {
    const waiting = pending.get(reply.id);
    if (!waiting) return;
    pending.delete(reply.id);
    // Idle, the thread must not keep the process alive.
    if (pending.size === 0) worker.unref();
    if (reply.error) waiting.reject(toError(reply.error));
    else waiting.resolve(reply.result);
  });
  const failAll = (error: Error) => {
    failed = error;
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  };
  worker.on("error", failAll);
  worker.on("exit", () => failAll(new LibsqlError("The database thread exited", "CLIENT_CLOSED")));

  const call = (method: string, args: unknown[]): Promise<unknown> => {
    if (failed) return Promise.reject(failed);
    if (closed) return Promise.reject(new LibsqlError("The client is closed", "CLIENT_CLOSED"));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      // Pending work keeps the process alive until it is answered.
      worker.ref();
      worker.postMessage({ id, method, args });
    });
  };
  const statement = (stmtOrSql: InStatement, args?: InArgs): InStatement =>
    typeof stmtOrSql === "string" ? { sql: stmtOrSql, args: args ?? [] } : stmtOrSql;

  const client = {
    protocol: "file",
    get closed() {
      return closed;
    },
    execute: async (stmtOrSql: InStatement, args?: InArgs) => {
      const stmt = statement(stmtOrSql, args);
      if (!closed && !failed) {
        const read = reader?.read(stmt);
        if (read) return read;
      }
      return toResultSet((await call("execute", [stmt])) as WireResult);
    },
    batch: async (stmts: Array<InStatement | [string, InArgs?]>, mode?: TransactionMode) => {
      const normalized = stmts.map((s) => (Array.isArray(s) ? statement(s[0], s[1]) : s));
      return ((await call("batch", [normalized, mode])) as WireResult[]).map(toResultSet);
    },
    migrate: async (stmts: InStatement[]) =>
      ((await call("migrate", [stmts])) as WireResult[]).map(toResultSet),
    executeMultiple: async (sql: string) => {
      await call("executeMultiple", [sql]);
    },
    transaction: async () => {
      throw new LibsqlError("Interactive transactions are not supported", "TRANSACTION_CLOSED");
    },
    sync: async () => undefined,
    reconnect: async () => undefined,
    close: () => {
      if (closed) return;
      reader?.close();
      call("close", []).finally(() => void worker.terminate());
      closed = true;
    },
  };
  return client as unknown as Client;
}
