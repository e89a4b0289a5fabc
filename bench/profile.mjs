// npm run bench:profile -- <refresh|jwks|me> [connections] : runs one scenario against a
// Tessera started with --cpu-prof, then prints where the server's time went during the load
// only (start-up and the sign-ins that make the sessions are left out): the share the event
// loop sat idle, the functions with the most self time, and the most inclusive time.
// BENCH_ENV='{"NAME":"value"}' adds environment variables to the server.
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadTarget } from "./lib/measure.mjs";
import { startTessera } from "./lib/servers.mjs";
import { scenarioTarget } from "./lib/targets.mjs";

const scenario = process.argv[2] ?? "jwks";
const connections = Number(process.argv[3] ?? 16);
const profileDir = await mkdtemp(join(tmpdir(), "tessera-prof-"));
const tessera = await startTessera({
  NODE_ARGS: ["--cpu-prof", "--cpu-prof-dir", profileDir],
  ...(process.env.BENCH_ENV ? JSON.parse(process.env.BENCH_ENV) : {}),
});
const options = await scenarioTarget(tessera.url, scenario, connections);
// V8 stamps samples with the monotonic clock in µs, as process.hrtime does: the load's window.
const micros = () => Number(process.hrtime.bigint() / 1000n);
const from = micros();
const result = await loadTarget(options, { connections, duration: 5 });
const to = micros();
await tessera.stop();
console.log(scenario, `c=${connections}`, result);

const file = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"));
const profile = JSON.parse(readFileSync(join(profileDir, file), "utf8"));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const node of profile.nodes)
  for (const child of node.children ?? []) parent.set(child, node.id);
const label = (id) => {
  const { functionName, url, lineNumber } = byId.get(id).callFrame;
  const where = url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/dist\//, "dist/");
  return `${functionName || "(anonymous)"} ${where}:${lineNumber + 1}`;
};
const self = new Map();
const inclusive = new Map();
let total = 0;
let idle = 0;
let t = profile.startTime;
for (const [i, id] of profile.samples.entries()) {
  t += profile.timeDeltas[i] ?? 0;
  const dt = profile.timeDeltas[i + 1] ?? 0;
  if (t < from || t > to) continue;
  total += dt;
  const key = label(id);
  if (key.startsWith("(idle)")) {
    idle += dt;
    continue;
  }
  self.set(key, (self.get(key) ?? 0) + dt);
  // Each function on the stack once, however often it recurses.
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const name = label(at);
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + dt);
  }
}
const busy = total - idle;
const pct = (v, of) => `${((v / of) * 100).toFixed(1).padStart(5)}%`;
console.log(
  `during the load: ${(busy / 1000).toFixed(0)} ms busy, ${pct(idle, total)} idle; per request ${(busy / (result.rps * 5)).toFixed(0)} µs of main-thread CPU`,
);
console.log("\nself time (% of busy):");
for (const [key, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log(`${pct(v, busy)}  ${key}`);
}
console.log("\ninclusive time (% of busy):");
for (const [key, v] of [...inclusive]
  .filter(([key]) => !key.startsWith("(root)"))
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(process.env.PROFILE_TOP ?? 40))) {
  console.log(`${pct(v, busy)}  ${key}`);
}
