// npm run bench [-- --quick] [-- --json FILE] [-- --no-sqld]
// Starts Tessera (production-like, fresh libSQL file) and the baselines, runs each scenario
// for a bounded time, and prints one table with every scenario's ratio to its baseline
// measured in the same run. Needs `npm run build` (the script runs it first).
import { scrypt } from "node:crypto";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createClient } from "@libsql/client";
import { decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import { createVerifier } from "tessera/verify";
import { load, loadTarget, loop } from "./lib/measure.mjs";
import { openAuthRefreshTokens } from "./lib/openauth.mjs";
import { refreshChains } from "./lib/refresh-chains.mjs";
import { rssMiB, startBareHono, startOpenAuth, startSqld, startTessera } from "./lib/servers.mjs";
import { freshSessions, post, scenarioTarget } from "./lib/targets.mjs";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    json: { type: "string" },
    "no-sqld": { type: "boolean", default: false },
  },
});
const QUICK = values.quick;
/** Seconds per HTTP run and per in-process loop. */
const SECONDS = QUICK ? 1.2 : 5;
/**
 * Seconds of untimed load before an HTTP scenario's first measurement, for every server
 * alike: V8 takes a few seconds of load to optimise a path, and a 1.2 s run of a path not yet
 * hot measured JWKS at c=16 below its own c=64.
 */
const WARMUP_SECONDS = QUICK ? 1 : 2;
/** Rounds of a paired measurement (odd: a median is one round) and seconds a round, each side. */
const ROUNDS = 3;
const ROUND_SECONDS = QUICK ? 1 : 3;
const CONNECTIONS = [1, 16, 64];
const EMAIL = "load-test@example.com";
const PASSWORD = "a benchmark passphrase";
const rows = [];

/** Untimed load at 16 connections (see WARMUP_SECONDS): refresh chains, or a GET. */
async function warmUp(target) {
  await loadTarget(target, { connections: 16, duration: WARMUP_SECONDS });
}

/**
 * `n` accounts, one per login connection: logins racing on one account count as failures
 * until they succeed (the per-account sign-in delay), so each connection signs in as its own.
 */
async function loginAccounts(url, n) {
  const emails = Array.from({ length: n }, (_, i) => `login-${i}@example.com`);
  for (let i = 0; i < n; i += 4) {
    await Promise.all(
      emails.slice(i, i + 4).map(async (email) => {
        const res = await post(url, "/v1/signup", { email, password: PASSWORD });
        if (res.status !== 201) throw new Error(`signup failed: ${res.status}`);
      }),
    );
  }
  return emails;
}

/** autocannon options where each connection logs in as its own account. */
function loginsPerConnection(emails) {
  let next = 0;
  const request = (email) => ({
    method: "POST",
    path: "/v1/login",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  return {
    requests: [request(emails[0])],
    setupClient: (client) => client.setRequests([request(emails[next++ % emails.length])]),
  };
}

const middle = (xs, key) => [...xs].sort((x, y) => key(x) - key(y))[Math.floor(xs.length / 2)];

/**
 * A scenario against its baseline, measured back to back ROUNDS times, alternating which
 * goes first. Each side's result is its median round; the ratio is the median of the rounds'
 * ratios. On this shared machine either side alone moved by up to 2x within a minute (the
 * bare Hono baseline: 45k then 24k req/s, two minutes apart); the two halves of a pair,
 * seconds apart, move together.
 */
async function paired(subject, baseline) {
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) {
    const round = {};
    if (i % 2 === 0) {
      round.subject = await subject();
      round.baseline = await baseline();
    } else {
      round.baseline = await baseline();
      round.subject = await subject();
    }
    rounds.push(round);
  }
  const ratios = rounds.map((r) => r.subject.rps / r.baseline.rps);
  return {
    result: middle(
      rounds.map((r) => r.subject),
      (r) => r.rps,
    ),
    baseline: middle(
      rounds.map((r) => r.baseline),
      (r) => r.rps,
    ),
    ratio: middle(ratios, (r) => r),
  };
}

function record(scenario, connections, result, baseline, baselineResult, ratio) {
  rows.push({
    scenario,
    connections,
    rps: result.rps,
    p50_ms: result.p50_ms,
    p99_ms: result.p99_ms,
    errors: result.errors,
    client_sleeps: result.client_sleeps,
    baseline,
    baseline_rps: baselineResult.rps,
    // A failed answer is quick, so errors would inflate either side's req/s: shown for both.
    baseline_errors: baselineResult.errors ?? 0,
    baseline_client_sleeps: baselineResult.client_sleeps,
    ratio: Math.round((ratio ?? result.rps / baselineResult.rps) * 1000) / 1000,
  });
  const last = rows.at(-1);
  console.error(
    `  ${scenario} c=${connections}: ${last.rps}/s vs ${last.baseline_rps}/s → ${last.ratio}${last.errors || last.baseline_errors ? ` (errors ${last.errors} / ${last.baseline_errors})` : ""}`,
  );
}

/** Baseline 1: the rotation statement alone, through @libsql/client on a WAL file. */
async function bareRotationSql(concurrency) {
  const dir = await mkdtemp(join(tmpdir(), "tessera-bench-sql-"));
  const client = createClient({ url: `file:${join(dir, "bare.db")}`, timeout: 5000 });
  await client.execute("PRAGMA journal_mode = WAL");
  await client.execute(
    "CREATE TABLE sessions (id TEXT PRIMARY KEY, generation INTEGER NOT NULL, rotated_at INTEGER, last_used_at INTEGER, expires_at INTEGER, revoked_at INTEGER, user_id TEXT, client_id TEXT)",
  );
  const generations = [];
  for (let i = 0; i < concurrency; i++) {
    await client.execute({
      sql: "INSERT INTO sessions VALUES (?, 0, 0, ?, ?, NULL, 'u', 'first-party')",
      args: [`s${i}`, Date.now(), Date.now() + 1e9],
    });
    generations.push(0);
  }
  const result = await loop(
    async (worker) => {
      const now = Date.now();
      const rs = await client.execute({
        sql: "UPDATE sessions SET generation = ?, rotated_at = ?, last_used_at = ? WHERE id = ? AND generation = ? AND revoked_at IS NULL AND expires_at > ? AND last_used_at > ? RETURNING user_id, client_id, expires_at",
        args: [
          generations[worker] + 1,
          now,
          now,
          `s${worker}`,
          generations[worker],
          now,
          now - 86_400_000,
        ],
      });
      if (rs.rows.length !== 1) throw new Error("no row");
      generations[worker]++;
    },
    { concurrency, durationMs: SECONDS * 1000 },
  );
  client.close();
  await rm(dir, { recursive: true, force: true });
  return result;
}

/**
 * `url`'s response as bench/bare-hono.mjs answers it: its headers (less those Node's server
 * writes itself) and its body.
 */
async function copyResponse(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  const headers = Object.fromEntries(
    [...res.headers].filter(
      ([name]) => !["content-length", "date", "connection", "keep-alive"].includes(name),
    ),
  );
  return { headers, body: await res.text() };
}

/**
 * Warms both up, then measures `target` against `baseline` (load targets) as pairs at each
 * connection count, one row each.
 */
async function pairedRows(name, target, baselineLabel, baseline) {
  await warmUp(target);
  await warmUp(baseline);
  for (const connections of CONNECTIONS) {
    const measured = await paired(
      () => load({ ...target, connections, duration: ROUND_SECONDS }),
      () => load({ ...baseline, connections, duration: ROUND_SECONDS }),
    );
    record(name, connections, measured.result, baselineLabel, measured.baseline, measured.ratio);
  }
}

/** Servers still running: child processes, stopped by hand if the run fails half-way. */
const running = new Set();
function started(server) {
  const stop = server.stop;
  server.stop = async () => {
    running.delete(server);
    await stop();
  };
  running.add(server);
  return server;
}

async function main() {
  const tessera = started(await startTessera());
  const bare = started(await startBareHono());
  const openAuth = started(await startOpenAuth());
  const rss = { tesseraStart: rssMiB(tessera.pid), benchStart: rssMiB(process.pid) };
  console.error(
    `tessera ${tessera.url} (pid ${tessera.pid}), bare hono ${bare.url}, openauth ${openAuth.url}; ${SECONDS}s per run`,
  );

  const signup = await post(tessera.url, "/v1/signup", { email: EMAIL, password: PASSWORD });
  if (signup.status !== 201) throw new Error(`signup failed: ${signup.status}`);
  const { access_token } = await signup.json();

  // 1. Refresh rotation over HTTP vs the bare rotation SQL statement, and vs the peer:
  // OpenAuth's own refresh grant, each connection rotating its own chain there too. Tessera
  // and OpenAuth run back to back at each connection count, so both see the same machine.
  console.error("1. refresh rotation");
  const chains = refreshChains(await freshSessions(tessera.url, Math.max(...CONNECTIONS)));
  const openAuthChains = refreshChains(
    await openAuthRefreshTokens(openAuth.url, Math.max(...CONNECTIONS)),
    "/token",
  );
  await warmUp({ url: tessera.url, chains });
  await warmUp({ url: openAuth.url, chains: openAuthChains });
  const refreshResults = [];
  const openAuthResults = [];
  const openAuthRatios = [];
  for (const connections of CONNECTIONS) {
    const { result, baseline, ratio } = await paired(
      () => chains.run(tessera.url, { connections, duration: ROUND_SECONDS }),
      () => openAuthChains.run(openAuth.url, { connections, duration: ROUND_SECONDS }),
    );
    refreshResults.push(result);
    openAuthResults.push(baseline);
    openAuthRatios.push(ratio);
  }
  for (const [i, connections] of CONNECTIONS.entries()) {
    const baseline = await bareRotationSql(connections);
    record(
      "refresh rotation (HTTP)",
      connections,
      refreshResults[i],
      "bare UPDATE…RETURNING via @libsql/client",
      baseline,
    );
  }
  for (const [i, connections] of CONNECTIONS.entries()) {
    record(
      "refresh rotation vs OpenAuth",
      connections,
      refreshResults[i],
      "OpenAuth 0.4.3 refresh grant (MemoryStorage)",
      openAuthResults[i],
      openAuthRatios[i],
    );
  }

  // 1b. The same refresh scenario with Tessera on a libSQL server (sqld) instead of the
  // embedded file, paired with OpenAuth again as above.
  if (!values["no-sqld"]) {
    console.error("1b. refresh rotation on sqld");
    const sqld = started(await startSqld());
    const onSqld = started(await startTessera({ DATABASE_URL: sqld.url }));
    try {
      const sqldChains = refreshChains(await freshSessions(onSqld.url, Math.max(...CONNECTIONS)));
      await warmUp({ url: onSqld.url, chains: sqldChains });
      for (const connections of CONNECTIONS) {
        const { result, baseline, ratio } = await paired(
          () => sqldChains.run(onSqld.url, { connections, duration: ROUND_SECONDS }),
          () => openAuthChains.run(openAuth.url, { connections, duration: ROUND_SECONDS }),
        );
        record(
          "refresh on sqld vs OpenAuth",
          connections,
          result,
          "OpenAuth 0.4.3 refresh grant (MemoryStorage)",
          baseline,
          ratio,
        );
      }
    } finally {
      await onSqld.stop();
      await sqld.stop();
    }
  }
  await openAuth.stop();

  // 2, 3. JWKS and /v1/me (each connection signed in as its own account) vs a bare Hono app
  // returning constant JSON.
  const most = Math.max(...CONNECTIONS);
  for (const [name, scenario] of [
    ["GET /.well-known/jwks.json", "jwks"],
    ["GET /v1/me (Bearer, an account per connection)", "me"],
  ]) {
    console.error(name);
    const target = await scenarioTarget(tessera.url, scenario, most);
    const path = new URL(target.url).pathname;
    await pairedRows(name, target, "bare Hono constant JSON", { url: `${bare.url}${path}` });
  }

  // 3b. JWKS vs a bare Hono app answering a copy of Tessera's JWKS response (headers and
  // body): what the response costs both ends, apart from what Tessera's code adds.
  console.error("3b. GET /.well-known/jwks.json vs a copy of its response");
  const jwksTarget = { url: `${tessera.url}/.well-known/jwks.json` };
  const copy = started(await startBareHono(await copyResponse(jwksTarget.url)));
  await pairedRows(
    "GET /.well-known/jwks.json vs its own bytes",
    jwksTarget,
    "bare Hono, a copy of Tessera's JWKS response",
    { url: copy.url },
  );
  await copy.stop();

  // 4. tessera/verify in-process vs jose.jwtVerify with an already-imported key.
  console.error("4. verifier");
  const jwks = await (await fetch(`${tessera.url}/.well-known/jwks.json`)).json();
  const verifier = createVerifier({
    issuer: tessera.issuer,
    audience: tessera.issuer,
    jwksUrl: `${tessera.url}/.well-known/jwks.json`,
  });
  await verifier.verify(access_token); // fills the JWKS cache
  const { kid } = decodeProtectedHeader(access_token);
  const jwk = jwks.keys.find((k) => k.kid === kid);
  const key = await importJWK(jwk, jwk.alg);
  const joseOptions = {
    issuer: tessera.issuer,
    audience: tessera.issuer,
    algorithms: [jwk.alg],
    typ: "at+jwt",
  };
  const bareVerify = await loop(() => jwtVerify(access_token, key, joseOptions), {
    durationMs: SECONDS * 1000,
  });
  const sdkVerify = await loop(() => verifier.verify(access_token), { durationMs: SECONDS * 1000 });
  record("tessera/verify (in-process)", 1, sdkVerify, "jose.jwtVerify, imported key", bareVerify);

  // 5. Login at the configured scrypt cost vs bare crypto.scrypt at that cost.
  // The hashing scenarios cost seconds each: the quick run measures them at 16 connections.
  const HASH_CONNECTIONS = QUICK ? [16] : CONNECTIONS;
  console.error("5. login");
  const emails = await loginAccounts(tessera.url, Math.max(...HASH_CONNECTIONS, 16));
  const salt = Buffer.alloc(16, 7);
  const bareScrypt = await loop(
    () =>
      new Promise((resolve, reject) =>
        scrypt(PASSWORD, salt, 32, { N: 2 ** 14, r: 8, p: 5, maxmem: 64 * 1024 * 1024 }, (e, k) =>
          e ? reject(e) : resolve(k),
        ),
      ),
    { concurrency: 4, durationMs: SECONDS * 2000 },
  );
  for (const connections of HASH_CONNECTIONS) {
    const login = await load({
      url: tessera.url,
      connections,
      duration: SECONDS * 2,
      ...loginsPerConnection(emails),
    });
    record(
      "login (scrypt ln=14,r=8,p=5)",
      connections,
      login,
      "bare crypto.scrypt, same cost, 4 at once",
      bareScrypt,
    );
  }

  // 6. Refresh p99 during a login storm (16 connections logging in) vs refresh p99 alone.
  console.error("6. refresh during a login storm");
  for (const connections of HASH_CONNECTIONS) {
    const stormChains = refreshChains(await freshSessions(tessera.url, connections));
    const alone = await stormChains.run(tessera.url, { connections, duration: SECONDS });
    const [during] = await Promise.all([
      stormChains.run(tessera.url, { connections, duration: SECONDS * 2 }),
      load({
        url: tessera.url,
        connections: 16,
        duration: SECONDS * 2,
        ...loginsPerConnection(emails.slice(0, 16)),
      }),
    ]);
    record(
      "refresh p99 during login storm",
      connections,
      // The logins load from this process at the same time: its sleeps are theirs too.
      { ...during, client_sleeps: undefined },
      "refresh alone (ratio = p99 during / p99 alone)",
      alone,
      during.p99_ms / Math.max(alone.p99_ms, 0.001),
    );
  }

  rss.tesseraEnd = rssMiB(tessera.pid);
  rss.benchEnd = rssMiB(process.pid);
  await Promise.all([tessera.stop(), bare.stop()]);

  console.table(rows);
  console.log(
    `RSS (MiB): tessera ${rss.tesseraStart} → ${rss.tesseraEnd}; bench process ${rss.benchStart} → ${rss.benchEnd}`,
  );
  if (values.json) {
    writeFileSync(values.json, `${JSON.stringify(rows, null, 2)}\n`);
    console.log(`wrote ${values.json}`);
  }
}

main().catch(async (error) => {
  console.error(error);
  await Promise.allSettled([...running].map((server) => server.stop()));
  process.exit(1);
});
