// `npm run test:node-lts [-- vitest args]`: runs the Node test project (`vitest run --project node`)
// once under each Node release line below, one after another (the suite spawns servers and
// wrangler; two runs at once would fight over the cores). The binaries are the npm registry's
// `node` package, fetched by npx on first use and cached. `npm test` runs the suite on the
// machine's Node first; this adds the other supported lines. Exits 1 if any run fails.
//
// Pinned exact versions; to update: `npm view node@22 version` (and 24, 26), take the newest.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const NODE_VERSIONS = ["22.23.3", "24.21.0", "26.10.0"];

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const vitestPkg = createRequire(import.meta.url).resolve("vitest/package.json");
const VITEST = join(dirname(vitestPkg), JSON.parse(readFileSync(vitestPkg, "utf8")).bin.vitest);
const extraArgs = process.argv.slice(2);

/** Runs `node <args>` under Node `version` (npx -p node@version); returns the child's result. */
function withNode(version, args, options = {}) {
  return spawnSync("npx", ["--yes", "--package", `node@${version}`, "node", ...args], {
    cwd: ROOT,
    env: process.env,
    ...options,
  });
}

const results = [];
for (const version of NODE_VERSIONS) {
  const started = Date.now();
  // Make sure the run really gets that binary, not the machine's node.
  const probe = withNode(version, ["-p", "process.version"], { encoding: "utf8" });
  const actual = probe.stdout?.trim();
  let ok = probe.status === 0 && actual === `v${version}`;
  if (!ok) {
    console.error(`node@${version}: could not run it (got ${actual || "nothing"})`);
    console.error(probe.stderr);
  } else {
    console.log(`\n=== vitest run --project node on Node ${actual} ===`);
    const run = withNode(version, [VITEST, "run", "--project", "node", ...extraArgs], {
      stdio: "inherit",
    });
    ok = run.status === 0;
  }
  results.push({ version, ok, seconds: Math.round((Date.now() - started) / 1000) });
}

console.log("\nNode test project by Node version:");
for (const { version, ok, seconds } of results) {
  console.log(`  ${ok ? "pass" : "FAIL"}  node ${version}  ${seconds} s`);
}
if (results.some((r) => !r.ok)) process.exit(1);
