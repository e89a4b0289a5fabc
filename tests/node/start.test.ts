import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type InStatement } from "@libsql/client";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { randomSecret } from "../../src/lib/random-id.ts";
import { startSqld } from "../harness/sqld.ts";
import { tempDir } from "../harness/temp-dir.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
// What `npm start` runs: `node <file>` from package.json, after its prestart build.
const START = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts.start as string;
const ENTRY = join(ROOT, START.replace(/^node\s+/, ""));
const ISSUER = "http://tessera.test";

type Started = { child: ChildProcess; url: string; output: () => string };

/** Stops a child process (SIGTERM) and waits for it to exit; nothing to do once it has. */
const stopProcess = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });

/** Spawns the built Node entry in `cwd`; it is stopped when the test finishes, passed or failed. */
function spawnEntry(cwd: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [ENTRY], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  onTestFinished(() => stopProcess(child));
  return child;
}

/** Runs the built Node entry in `cwd` and waits for the line that prints its URL. */
function start(cwd: string, env: Record<string, string> = {}): Promise<Started> {
  const child = spawnEntry(cwd, {
    PATH: process.env.PATH,
    PORT: "0",
    ISSUER,
    LOG_LEVEL: "warn",
    SCRYPT_LN: "10",
    ...env,
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/localhost:\d+)/.exec(output);
      if (match) resolve({ child, url: match[1] as string, output: () => output });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) => reject(new Error(`exited ${code}: ${output}`)));
  });
}

/** Runs the entry expecting it to fail; resolves with its exit code and output. */
function startFailing(cwd: string, env: Record<string, string>) {
  const child = spawnEntry(cwd, { PATH: process.env.PATH, PORT: "0", ...env });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on("exit", (code) => resolve({ code, output })),
  );
}

const stop = (s: Started) => stopProcess(s.child);

/** One statement against the SQLite file the server wrote; the client is closed either way. */
async function query(file: string, statement: InStatement) {
  const client = createClient({ url: `file:${file}` });
  try {
    return await client.execute(statement);
  } finally {
    client.close();
  }
}

describe("npm start (prestart build, then the package.json start command)", () => {
  let dir: string;

  beforeAll(async () => {
    // `npm test` (or the global setup) has run the prestart build: `npm run build`.
    dir = await mkdtemp(join(tmpdir(), "tessera-start-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("creates data/, the secret (0600), the database and keys; reuses them on restart", async () => {
    const first = await start(dir);
    expect(first.output()).toMatch(/listening on http:\/\/localhost:\d+/);
    const health = await fetch(`${first.url}/healthz`);
    expect(await health.json()).toEqual({ status: "ok" });
    const jwks1 = await (await fetch(`${first.url}/.well-known/jwks.json`)).json();
    await stop(first);

    const secretMode = (await stat(join(dir, "data/secret"))).mode & 0o777;
    expect(secretMode).toBe(0o600);
    await stat(join(dir, "data/tessera.db"));

    const second = await start(dir);
    const jwks2 = await (await fetch(`${second.url}/.well-known/jwks.json`)).json();
    expect(jwks2).toEqual(jwks1);

    // A token from the restarted server verifies with a remote JWKS, as another service does.
    const signup = await fetch(`${second.url}/v1/signup`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "start@example.com", password: "correct horse battery" }),
    });
    expect(signup.status).toBe(201);
    const { access_token } = (await signup.json()) as { access_token: string };
    const { payload } = await jwtVerify(
      access_token,
      createRemoteJWKSet(new URL(`${second.url}/.well-known/jwks.json`)),
      { issuer: ISSUER, audience: ISSUER, typ: "at+jwt" },
    );
    expect(payload.client_id).toBe("first-party");
  });

  it("two simultaneous starts never create a second current key of an alg", async () => {
    const shared = await tempDir("tessera-race-");
    const [a, b] = await Promise.all([start(shared), start(shared)]);
    await Promise.all([stop(a), stop(b)]);
    const rows = await query(
      join(shared, "data/tessera.db"),
      "select alg, status, count(*) as n from signing_keys group by alg, status",
    );
    const counts = Object.fromEntries(rows.rows.map((r) => [`${r.alg}:${r.status}`, Number(r.n)]));
    // SIGNING_ALG (access tokens) and RS256 (ID tokens), one current and one next each.
    expect(counts).toEqual({
      "EdDSA:current": 1,
      "EdDSA:next": 1,
      "RS256:current": 1,
      "RS256:next": 1,
    });
  });

  it("stores a scrypt PHC string, never the password", async () => {
    const s = await start(dir);
    await fetch(`${s.url}/v1/signup`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "phc@example.com", password: "correct horse battery" }),
    });
    await stop(s);
    const { rows } = await query(join(dir, "data/tessera.db"), {
      sql: "select password_hash from users where email = ?",
      args: ["phc@example.com"],
    });
    expect(String(rows[0]?.password_hash)).toMatch(
      /^\$scrypt\$ln=10,r=8,p=5\$[\w-]{22}\$[\w-]{43}$/,
    );
  });

  it("refuses to start with a bad variable, in one line naming it", async () => {
    const { code, output } = await startFailing(dir, { PORT: "eighty" });
    expect(code).toBe(1);
    expect(output.trim().split("\n")).toHaveLength(1);
    expect(output).toContain("PORT");
  });

  it("requires TESSERA_SECRET in production", async () => {
    const fresh = await tempDir("tessera-prod-");
    const { code, output } = await startFailing(fresh, { NODE_ENV: "production" });
    expect(code).toBe(1);
    expect(output).toContain("TESSERA_SECRET");
  });
});

/** Reads from a raw socket until `done(text so far)` holds; rejects if the socket ends first. */
function readUntil(socket: Socket, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (done(text)) {
        socket.off("data", onData);
        socket.off("end", onEnd);
        resolve(text);
      }
    };
    const onEnd = () => reject(new Error(`socket ended: ${text}`));
    socket.on("data", onData);
    socket.once("end", onEnd);
  });
}

/** Whether a new TCP connection to `port` is refused (the server stopped listening). */
const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = connect(port, "127.0.0.1");
    probe.once("connect", () => {
      probe.destroy();
      resolve(false);
    });
    probe.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
  });

describe("stopping (SIGTERM, SIGINT)", () => {
  it("SIGTERM: stops accepting, finishes the request in flight, closes the database, exits 0", async () => {
    const dir = await tempDir("tessera-stop-");
    const s = await start(dir);
    const port = Number(new URL(s.url).port);
    const email = "stop@example.com";
    const password = "correct horse battery";
    const body = JSON.stringify({ email, password });
    const signup = await fetch(`${s.url}/v1/signup`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
    });
    expect(signup.status).toBe(201);
    const exited = new Promise<number | null>((resolve) => s.child.once("exit", resolve));

    // A login in flight: its headers are in (the server answered 100 Continue), its body is not.
    const socket = connect(port, "127.0.0.1");
    onTestFinished(() => {
      socket.destroy();
    });
    socket.write(
      `POST /v1/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await readUntil(socket, (text) => text.includes("100 Continue\r\n\r\n"));

    s.child.kill("SIGTERM");
    // New connections are refused once the signal is handled; the process waits for the login.
    for (let i = 0; !(await refused(port)); i++) {
      if (i > 200) throw new Error("still accepting connections after SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(s.child.exitCode).toBeNull();

    const responseEnded = new Promise<void>((resolve) => socket.once("end", resolve));
    socket.write(body);
    const response = await readUntil(socket, (text) => /"refresh_token":"[^"]+"/.test(text));
    expect(response).toMatch(/^HTTP\/1\.1 200 OK\r\n/m);
    expect(response).toMatch(/\r\nConnection: close\r\n/i);
    await responseEnded; // the server closed the connection after the answer

    expect(await exited).toBe(0);
    const lines = s.output().trim().split("\n");
    expect(lines.at(-1)).toMatch(
      /^Tessera stopped \(SIGTERM\) in \d+\.\d s: 1 request in flight finished; database closed$/,
    );

    // The file is intact (SQLite's own check, after recovering the WAL) and holds the login's
    // session: what was acknowledged before the stop is there.
    const db = join(dir, "data/tessera.db");
    expect((await query(db, "PRAGMA integrity_check")).rows[0]?.[0]).toBe("ok");
    const sessions = await query(db, {
      sql: "SELECT count(*) AS n FROM sessions JOIN users ON users.id = sessions.user_id WHERE users.email = ?",
      args: [email],
    });
    expect(Number(sessions.rows[0]?.n)).toBe(2); // signup + the login that was in flight
  });

  it("SHUTDOWN_GRACE: a request still in flight at the limit is cut off, and the stop completes", async () => {
    const s = await start(await tempDir("tessera-cutoff-"), { SHUTDOWN_GRACE: "1s" });
    const port = Number(new URL(s.url).port);
    const exited = new Promise<number | null>((resolve) => s.child.once("exit", resolve));
    // A login whose body never comes: it cannot finish on its own.
    const socket = connect(port, "127.0.0.1");
    onTestFinished(() => {
      socket.destroy();
    });
    socket.write(
      "POST /v1/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 64\r\nExpect: 100-continue\r\n\r\n",
    );
    await readUntil(socket, (text) => text.includes("100 Continue\r\n\r\n"));
    const closedByServer = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    const signalled = Date.now();
    s.child.kill("SIGTERM");
    await closedByServer;
    expect(await exited).toBe(0);
    // Not before the grace (1 s), and well before the 10 s default.
    const waited = Date.now() - signalled;
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(8000);
    expect(s.output().trim().split("\n").at(-1)).toMatch(
      /^Tessera stopped \(SIGTERM\) in \d+\.\d s: connections still open at the 1 s limit closed, 1 request cut off; database closed$/,
    );
  });

  it("refuses a SHUTDOWN_GRACE over 300 s, naming it", async () => {
    const { code, output } = await startFailing(await tempDir("tessera-grace-"), {
      SHUTDOWN_GRACE: "10m",
    });
    expect(code).toBe(1);
    expect(output).toMatch(/^Invalid configuration: SHUTDOWN_GRACE: /m);
  });

  it("SIGINT with nothing in flight stops at once", async () => {
    const s = await start(await tempDir("tessera-sigint-"));
    const exited = new Promise<number | null>((resolve) => s.child.once("exit", resolve));
    s.child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(s.output()).toMatch(
      /Tessera stopped \(SIGINT\) in \d+\.\d s: 0 requests in flight finished; database closed\n$/,
    );
  });
});

describe("npm start on a libSQL server (DATABASE_URL=http://…)", () => {
  it("two servers starting at once on a fresh sqld migrate it once and accept each other's tokens", async () => {
    const sqld = await startSqld();
    onTestFinished(() => sqld.stop());
    const env = { DATABASE_URL: sqld.url, TESSERA_SECRET: randomSecret() };
    const [a, b] = await Promise.all([
      start(await tempDir("tessera-a-"), env),
      start(await tempDir("tessera-b-"), env),
    ]);
    const jwks = async (s: Started) => (await fetch(`${s.url}/.well-known/jwks.json`)).json();
    expect(await jwks(a)).toEqual(await jwks(b));
    const signup = await fetch(`${a.url}/v1/signup`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "two@example.com", password: "correct horse battery" }),
    });
    expect(signup.status).toBe(201);
    const { access_token, refresh_token } = (await signup.json()) as {
      access_token: string;
      refresh_token: string;
    };
    const me = await fetch(`${b.url}/v1/me`, {
      headers: { Authorization: `Bearer ${access_token}` },
    });
    expect(me.status).toBe(200);
    const refreshed = await fetch(`${b.url}/oauth/token`, {
      method: "POST",
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token }),
    });
    expect(refreshed.status).toBe(200);
    const client = createClient({ url: sqld.url });
    onTestFinished(() => client.close());
    const migrations = await client.execute("SELECT count(*) AS n FROM __drizzle_migrations");
    const files = (await readdir(join(ROOT, "migrations"))).filter((f) => f.endsWith(".sql"));
    expect(Number(migrations.rows[0]?.n)).toBe(files.length);
    // Both stop cleanly on SIGTERM, closing their clients.
    const codes = [a, b].map((s) => new Promise((resolve) => s.child.once("exit", resolve)));
    a.child.kill("SIGTERM");
    b.child.kill("SIGTERM");
    expect(await Promise.all(codes)).toEqual([0, 0]);
  });
});
