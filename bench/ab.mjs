// npm run bench:ab -- <A/node.js> <B/node.js> [scenario] [connections] [rounds] [seconds]
// An A/B of two builds of the server (each a copy of dist/ one level below the project root,
// as dist/ is, so its packages and migrations resolve). Both are started, warmed up, then
// loaded in turn, alternating which goes first, `rounds` times; then again with the other
// started first. Prints each round's req/s, server CPU per request (all threads, from
// /proc; main thread from schedstat) and client_sleeps (bench/lib/measure.mjs), then the
// medians of B/A. Scenarios: refresh (each
// connection its own chain), jwks, me. --openauth also loads the OpenAuth peer (refresh).
//   npm run build && rm -rf .ab-A && cp -r dist .ab-A   # before the change
//   npm run build && rm -rf .ab-B && cp -r dist .ab-B   # after it
//   npm run bench:ab -- .ab-A/node.js .ab-B/node.js refresh 16 5 3
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadTarget } from "./lib/measure.mjs";
import { openAuthRefreshTokens } from "./lib/openauth.mjs";
import { refreshChains } from "./lib/refresh-chains.mjs";
import { startOpenAuth, startTessera } from "./lib/servers.mjs";
import { scenarioTarget } from "./lib/targets.mjs";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { openauth: { type: "boolean", default: false } },
});
const [entryA, entryB, scenario = "refresh", conns = "16", rounds = "5", seconds = "3"] =
  positionals;
if (!entryA || !entryB) {
  console.error(
    "usage: npm run bench:ab -- <A/node.js> <B/node.js> [scenario] [conns] [rounds] [s]",
  );
  process.exit(2);
}
const connections = Number(conns);

/** CPU time of a process, all threads, in µs (utime + stime from /proc/<pid>/stat). */
const cpuMicros = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
};
/** Main-thread CPU in µs (schedstat's first field is ns on the CPU). */
const mainMicros = (pid) =>
  Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ")[0]) / 1000;

async function run(server, options) {
  const cpu0 = cpuMicros(server.pid);
  const main0 = mainMicros(server.pid);
  const result = await loadTarget(options, { connections, duration: Number(seconds) });
  const requests = result.rps * Number(seconds);
  return {
    ...result,
    cpu_us: Math.round((cpuMicros(server.pid) - cpu0) / requests),
    main_us: Math.round((mainMicros(server.pid) - main0) / requests),
  };
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

/**
 * One phase: both servers started (`first` first), prepared, warmed up, then loaded in
 * turn. The server started second ran ~5–10 % faster on this machine whichever build it
 * was, so the script runs two phases, A first then B first, and reports both.
 */
async function phase(first, second) {
  const started = [];
  try {
    for (const target of [first, second]) {
      const server = await startTessera({}, { entry: resolve(target.entry) });
      started.push(server);
      target.server = server;
    }
    const targets = [first, second];
    for (const target of targets) {
      target.options = await scenarioTarget(target.server.url, scenario, connections);
    }
    if (values.openauth && scenario === "refresh") {
      const peer = await startOpenAuth();
      started.push(peer);
      const chains = refreshChains(await openAuthRefreshTokens(peer.url, connections), "/token");
      targets.push({
        name: "OpenAuth",
        server: peer,
        options: { url: peer.url, chains },
      });
    }
    // One untimed run each first: the JIT warms up over the first seconds of load.
    for (const target of targets) await run(target.server, target.options);
    const ratios = [];
    const cpu = [];
    for (let round = 0; round < Number(rounds); round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      const results = {};
      for (const target of order) results[target.name] = await run(target.server, target.options);
      ratios.push(results.B.rps / results.A.rps);
      cpu.push(results.B.cpu_us / results.A.cpu_us);
      const peer = results.OpenAuth
        ? ` A/peer ${(results.A.rps / results.OpenAuth.rps).toFixed(2)} B/peer ${(results.B.rps / results.OpenAuth.rps).toFixed(2)}`
        : "";
      console.log(`${first.name} first, round ${round + 1}`, JSON.stringify(results), peer);
    }
    return { rps: median(ratios), cpu: median(cpu) };
  } finally {
    await Promise.all(started.map((server) => server.stop()));
  }
}

const one = await phase({ name: "A", entry: entryA }, { name: "B", entry: entryB });
const two = await phase({ name: "B", entry: entryB }, { name: "A", entry: entryA });
console.log(
  `${scenario} c=${connections}: B/A req/s ${one.rps.toFixed(3)} (A first), ${two.rps.toFixed(3)} (B first), geometric mean ${Math.sqrt(one.rps * two.rps).toFixed(3)}; CPU per request B/A ${Math.sqrt(one.cpu * two.cpu).toFixed(3)}`,
);
