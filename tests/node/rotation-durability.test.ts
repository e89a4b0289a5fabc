import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@libsql/client";
import { describe, expect, it, onTestFinished } from "vitest";
import { openNodeDatabase } from "../../src/db/libsql-node.ts";
import { randomSecret } from "../../src/lib/random-id.ts";
import { MIGRATIONS } from "../harness/node.ts";
import { tempDir } from "../harness/temp-dir.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
// What `npm start` runs, after its prestart build.
const START = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts.start as string;
const ENTRY = join(ROOT, START.replace(/^node\s+/, ""));

const CHAINS = 16;
/** Kill once this many rotations were acknowledged, or at the deadline, whichever is first. */
const KILL_AFTER_ACKS = 300;
const LOAD_DEADLINE_MS = 8_000;

/** The built server on `file`; resolves with its URL once it listens. */
function startServer(file: string, secret: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [ENTRY], {
    env: {
      PATH: process.env.PATH,
      PORT: "0",
      ISSUER: "http://tessera.test",
      DATABASE_URL: `file:${file}`,
      TESSERA_SECRET: secret,
      SCRYPT_LN: "10",
      RATE_LIMITS: "off",
      LOG_LEVEL: "warn",
      // A token whose successor was committed but not answered (in flight at the kill)
      // converges instead of counting as replay, however slow the restart.
      REFRESH_REUSE_GRACE: "300",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/localhost:\d+)/.exec(output);
      if (match) resolve({ child, url: (match[1] as string).replace("localhost", "127.0.0.1") });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code, signal) => reject(new Error(`exited ${code ?? signal}: ${output}`)));
  });
}

const postJson = (url: string, path: string, body: unknown) =>
  fetch(`${url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });

const refresh = (url: string, token: string) =>
  fetch(`${url}/oauth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}`,
  });

const partsOf = (token: string) => {
  const [sid, generation] = token.split(".");
  return { sid: sid as string, generation: Number(generation) };
};

describe("rotation durability", () => {
  it("the production opener leaves SQLite's synchronous at FULL with WAL", async () => {
    const dir = await tempDir("tessera-durability-");
    const { client } = await openNodeDatabase({
      url: `file:${join(dir, "t.db")}`,
      migrationsFolder: MIGRATIONS,
    });
    try {
      expect((await client.execute("PRAGMA journal_mode")).rows[0]?.[0]).toBe("wal");
      // 2 = FULL: every commit syncs the WAL before it returns.
      expect((await client.execute("PRAGMA synchronous")).rows[0]?.[0]).toBe(2);
    } finally {
      client.close();
    }
  });

  it("kill -9 under refresh load loses no acknowledged rotation", async () => {
    const dir = await tempDir("tessera-durability-");
    const file = join(dir, "tessera.db");
    const secret = randomSecret();
    const server = await startServer(file, secret);
    const user = { email: "durable@example.com", password: `pw-${randomSecret()}` };
    const signup = await postJson(server.url, "/v1/signup", user);
    expect(signup.status, await signup.clone().text()).toBe(201);
    const tokens = [((await signup.json()) as { refresh_token: string }).refresh_token];
    while (tokens.length < CHAINS) {
      const res = await postJson(server.url, "/v1/login", user);
      expect(res.status).toBe(200);
      tokens.push(((await res.json()) as { refresh_token: string }).refresh_token);
    }

    // Every chain refreshes in a loop; a 200 is an acknowledged rotation.
    const acknowledged = new Map(tokens.map((t) => [partsOf(t).sid, t]));
    let acks = 0;
    let inFlight = 0;
    let inFlightAtKill = -1;
    let killed = false;
    const kill = () => {
      if (killed) return;
      killed = true;
      inFlightAtKill = inFlight;
      server.child.kill("SIGKILL");
    };
    const deadline = setTimeout(kill, LOAD_DEADLINE_MS);
    const exited = new Promise((resolve) => server.child.once("exit", resolve));
    await Promise.all(
      tokens.map(async (first) => {
        let token = first;
        while (!killed) {
          inFlight++;
          let res: Response;
          try {
            res = await refresh(server.url, token);
          } catch {
            break; // the server is gone
          } finally {
            inFlight--;
          }
          if (res.status !== 200) {
            // Only the kill may interrupt a chain (a cut-off response, never a refusal).
            if (!killed) throw new Error(`refresh answered ${res.status}: ${await res.text()}`);
            break;
          }
          let body: { refresh_token: string };
          try {
            body = (await res.json()) as { refresh_token: string };
          } catch {
            break; // the body was cut off by the kill: not acknowledged
          }
          token = body.refresh_token;
          acknowledged.set(partsOf(token).sid, token);
          acks++;
          if (acks >= KILL_AFTER_ACKS) kill();
        }
      }),
    );
    clearTimeout(deadline);
    await exited;
    expect(acks).toBeGreaterThan(0);
    // Killed mid-load: requests were on their way.
    expect(inFlightAtKill).toBeGreaterThan(0);

    // Reopened (WAL recovery), the file holds every acknowledged rotation: each session is
    // live at the acknowledged generation, or one further if a rotation was in flight.
    const client = createClient({ url: `file:${file}` });
    try {
      for (const token of acknowledged.values()) {
        const { sid, generation } = partsOf(token);
        const row = (
          await client.execute({
            sql: "SELECT generation, revoked_at FROM sessions WHERE id = ?",
            args: [sid],
          })
        ).rows[0];
        expect(row, `session ${sid}`).toBeDefined();
        expect(row?.revoked_at).toBeNull();
        expect(Number(row?.generation)).toBeGreaterThanOrEqual(generation);
        expect(Number(row?.generation)).toBeLessThanOrEqual(generation + 1);
      }
    } finally {
      client.close();
    }

    // And every acknowledged token still refreshes on a restarted server.
    const restarted = await startServer(file, secret);
    for (const token of acknowledged.values()) {
      const res = await refresh(restarted.url, token);
      expect(res.status, await res.clone().text()).toBe(200);
    }
    restarted.child.kill("SIGTERM");
  }, 60_000);
});
