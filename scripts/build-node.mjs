// Bundles the Node entry to dist/node.js (Node 20 cannot run .ts). Dependencies stay
// external and load from node_modules.
import { build } from "esbuild";

await build({
  entryPoints: ["src/node.ts"],
  outfile: "dist/node.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
});
