// Starting the processes under test: the Tessera Node server (built dist/node.js) and a
// bare Hono server as the HTTP baseline. Both run as child processes on loopback.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startSqld as startSharedSqld } from "../../scripts/ensure-sqld.mjs";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Resident set size of a process in MiB, from /proc (Linux). */
export function rssMiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return Number.NaN;
  }
}

function waitForUrl(child, pattern, name) {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 30_000);
    const onData = (chunk) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout.off("data", onData);
        // Keep draining so a chatty child never blocks on a full pipe.
        child.stdout.resume();
        resolve(match[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (chunk) => {
      output += chunk.toString();
    });
    child.on("exit", (code) => reject(new Error(`${name} exited ${code}:\n${output}`)));
  });
}

const stopper = (child) => () =>
  new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });

/**
 * Tessera as an operator would run it in production: NODE_ENV=production, a real secret,
 * default scrypt cost, info logs (to a file), a fresh libSQL file. RATE_LIMITS=off, as
 * the configuration documents for benchmarks (one IP makes every request). `entry` is the
 * built server to run (bench/ab.mjs compares two builds).
 */
export async function startTessera(env = {}, { entry = join(ROOT, "dist/node.js") } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "tessera-bench-"));
  const secret = randomBytes(32).toString("base64url");
  // Logs go to a file, as with a log shipper tailing it: a pipe into this process would make
  // the load generator pay for reading every log line.
  const logFile = join(dir, "tessera.log");
  const log = openSync(logFile, "w");
  const child = spawn(process.execPath, [...(env.NODE_ARGS ?? []), entry], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      TESSERA_SECRET: secret,
      PORT: "0",
      ISSUER: "http://bench.tessera.test",
      DATABASE_URL: `file:${join(dir, "tessera.db")}`,
      RATE_LIMITS: "off",
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  const url = await waitForLine(child, logFile, /listening on (http:\/\/localhost:\d+)/, "tessera");
  const stop = stopper(child);
  return {
    url: url.replace("localhost", "127.0.0.1"),
    pid: child.pid,
    secret,
    dir,
    logFile,
    issuer: "http://bench.tessera.test",
    stop: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls a log file until `pattern` matches (the child writes its URL there). */
async function waitForLine(child, file, pattern, name) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const match = pattern.exec(readFileSync(file, "utf8"));
    if (match) return match[1];
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${name} did not start:\n${readFileSync(file, "utf8")}`);
}

/**
 * The bare Hono baseline: same framework, same adapter, a constant JSON body; or, with
 * `response` (`{headers, body}`), that response (bench/bare-hono.mjs).
 */
export async function startBareHono(response) {
  const child = spawn(process.execPath, [join(ROOT, "bench/bare-hono.mjs")], {
    env: {
      PATH: process.env.PATH,
      ...(response ? { BARE_RESPONSE: JSON.stringify(response) } : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = await waitForUrl(child, /listening on (http:\/\/127\.0\.0\.1:\d+)/, "bare hono");
  return { url, pid: child.pid, stop: stopper(child) };
}

/**
 * The peer: OpenAuth 0.4.3 (bench/openauth-issuer.mjs, MemoryStorage) on the same adapter.
 * Its request log (always on in OpenAuth's issuer) goes to a file, as Tessera's does.
 */
export async function startOpenAuth() {
  const dir = await mkdtemp(join(tmpdir(), "tessera-bench-openauth-"));
  const logFile = join(dir, "openauth.log");
  const log = openSync(logFile, "w");
  const child = spawn(process.execPath, [join(ROOT, "bench/openauth-issuer.mjs")], {
    cwd: dir,
    env: { PATH: process.env.PATH, NODE_ENV: "production" },
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  const url = await waitForLine(
    child,
    logFile,
    /listening on (http:\/\/127\.0\.0\.1:\d+)/,
    "openauth",
  );
  const stop = stopper(child);
  return {
    url,
    pid: child.pid,
    stop: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A libSQL server (sqld) on a fresh database, for the refresh scenario over a network database:
 * the same starter as the tests (scripts/ensure-sqld.mjs), so both measure the same setup.
 */
export function startSqld() {
  return startSharedSqld({ tempPrefix: "tessera-bench-sqld-" });
}
