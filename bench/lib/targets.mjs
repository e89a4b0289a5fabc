// Load targets, shared by run.mjs, ab.mjs and profile.mjs: a scenario name (refresh, jwks,
// me) turned into what loadTarget (bench/lib/measure.mjs) takes, and the sign-ups behind it.
import { refreshChains } from "./refresh-chains.mjs";

const PASSWORD = "a benchmark passphrase";

/** A JSON POST of `body` to `url` + `path`; resolves to the fetch Response. */
export const post = (url, path, body) =>
  fetch(`${url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });

/**
 * Accounts signed up so far by this process, numbering their emails: sign-ups never collide,
 * whether a script prepares several servers or the same scenario twice against one server.
 */
let accounts = 0;

/** A sign-up of a fresh account at `url`; resolves to its token response. */
async function signUp(url) {
  const email = `session-${accounts++}@example.com`;
  const res = await post(url, "/v1/signup", { email, password: PASSWORD });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status}`);
  return res.json();
}

/**
 * `n` fresh sessions, four at a time like the scrypt pool: each a sign-up of its own account
 * (logins racing on one account count as failures until they succeed, the per-account
 * sign-in delay). Returns their refresh tokens.
 */
export async function freshSessions(url, n) {
  return (await freshAccounts(url, n)).map((t) => t.refresh_token);
}

/** `n` sign-ups of fresh accounts, four at a time; resolves to their token responses. */
async function freshAccounts(url, n) {
  const responses = [];
  for (let i = 0; i < n; i += 4) {
    responses.push(
      ...(await Promise.all(Array.from({ length: Math.min(4, n - i) }, () => signUp(url)))),
    );
  }
  return responses;
}

/**
 * The target of `scenario` at the server `url`, for loadTarget, good for up to `connections`
 * connections: `jwks` is a URL; `me` is `GET /v1/me` where each connection is signed in as
 * its own account, as many users are (one account for all would make every read the same
 * row); any other name is `refresh`, where each connection refreshes its own session chain.
 */
export async function scenarioTarget(url, scenario, connections) {
  if (scenario === "jwks") return { url: `${url}/.well-known/jwks.json` };
  if (scenario === "me") {
    const tokens = (await freshAccounts(url, connections)).map((t) => t.access_token);
    let next = 0;
    return {
      url: `${url}/v1/me`,
      // autocannon calls this once per connection, before its first request.
      setupClient: (client) =>
        client.setHeaders({ Authorization: `Bearer ${tokens[next++ % tokens.length]}` }),
    };
  }
  return { url, chains: refreshChains(await freshSessions(url, connections)) };
}
