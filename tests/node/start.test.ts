import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type InStatement } from "@libsql/client";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
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
