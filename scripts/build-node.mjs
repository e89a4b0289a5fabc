// Bundles the Node entries to dist/node.js (server) and dist/cli.js (keys, clients CLI) (Node 20 cannot run .ts). Dependencies stay
// external and load from node_modules.
import { build } from "esbuild";

await build({
  entryPoints: { node: "src/node.ts", cli: "src/cli.ts" },
  outdir: "dist",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
});
