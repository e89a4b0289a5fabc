// npm run bench:profile -- <refresh|jwks|me> : runs one scenario against a Tessera started
// with --cpu-prof, then prints the functions with the most self time.
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load } from "./lib/measure.mjs";
import { refreshChains } from "./lib/refresh-chains.mjs";
import { startTessera } from "./lib/servers.mjs";

const scenario = process.argv[2] ?? "jwks";
const profileDir = await mkdtemp(join(tmpdir(), "tessera-prof-"));
const tessera = await startTessera({
  NODE_ARGS: ["--cpu-prof", "--cpu-prof-dir", profileDir],
  ...(process.env.BENCH_ENV ? JSON.parse(process.env.BENCH_ENV) : {}),
});
const post = (path, body) =>
  fetch(`${tessera.url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
const user = { email: "profile-user@example.com", password: "a profiling passphrase" };
const { access_token, refresh_token } = await (await post("/v1/signup", user)).json();

let options;
if (scenario === "jwks") options = { url: `${tessera.url}/.well-known/jwks.json` };
else if (scenario === "me")
  options = { url: `${tessera.url}/v1/me`, headers: { Authorization: `Bearer ${access_token}` } };
else {
  // Every connection refreshes its own session chain (as in bench/run.mjs).
  const tokens = [refresh_token];
  while (tokens.length < Number(process.argv[3] ?? 16))
    tokens.push((await (await post("/v1/login", user)).json()).refresh_token);
  options = { url: tessera.url, ...refreshChains(tokens).options };
}
const result = await load({
  connections: Number(process.argv[3] ?? 16),
  duration: 5,
  ...options,
});
await tessera.stop();
console.log(scenario, result);

const file = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"));
const profile = JSON.parse(readFileSync(join(profileDir, file), "utf8"));
const self = new Map();
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const dt = new Map();
for (const [i, id] of profile.samples.entries()) {
  dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
let total = 0;
for (const [id, micros] of dt) {
  const { functionName, url, lineNumber } = byId.get(id).callFrame;
  const where = url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/dist\//, "dist/");
  const key = `${functionName || "(anonymous)"} ${where}:${lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + micros);
  total += micros;
}
for (const [key, micros] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log(`${((micros / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
}
