// Builds dist/static, the browser files the app serves, laid out by URL path
// (dist/static/docs/assets/api-reference.js is GET /docs/assets/api-reference.js): the repo's
// static/ directory, plus files copied unchanged out of installed packages. Workers serve the
// directory through static assets (wrangler.toml [assets]); the Node entry reads it from disk.
import { cp, mkdir, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = join(ROOT, "dist/static");
const require = createRequire(import.meta.url);

/** [package export, path under dist/static] */
const PACKAGE_FILES = [
  // Scalar's standalone API reference (pinned in package.json), loaded by GET /docs.
  ["@scalar/api-reference/browser/standalone.js", "docs/assets/api-reference.js"],
];

await rm(OUT, { recursive: true, force: true });
await cp(join(ROOT, "static"), OUT, { recursive: true });
for (const [from, to] of PACKAGE_FILES) {
  const target = join(OUT, to);
  await mkdir(dirname(target), { recursive: true });
  await cp(require.resolve(from), target);
}
