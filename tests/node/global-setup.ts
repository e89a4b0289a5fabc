import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Tests that spawn the built server, CLI or verifier need `npm run build`'s output. `npm test`
 * builds first; a bare `npx vitest run` builds here once, before any test file runs, so test
 * files never build concurrently.
 */
export default function setup() {
  const built = [
    "dist/node.js",
    "dist/cli.js",
    "packages/verify/dist/index.js",
    "dist/static/docs/assets/api-reference.js",
  ].every((f) => existsSync(`${ROOT}/${f}`));
  if (!built) execFileSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "inherit" });
}
