import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createLocalJWKSet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { randomSecret } from "../../src/lib/random-id.ts";
import { createPasswordHasher } from "../../src/passwords/hasher.ts";
import worker from "../../src/worker.ts";

const SECRET = randomSecret();

async function call(path: string, init?: RequestInit, vars: Record<string, unknown> = {}) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://localhost${path}`, init) as Request<unknown, IncomingRequestCfProperties>,
    { ...env, TESSERA_SECRET: SECRET, LOG_LEVEL: "silent", SCRYPT_LN: "10", ...vars },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

const post = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/json", "CF-Connecting-IP": "203.0.113.7" },
  body: JSON.stringify(body),
});

describe("the Worker entry (src/worker.ts) over D1", () => {
  it("signs up, refreshes, and its tokens verify against its JWKS", async () => {
    const email = `entry.${crypto.randomUUID()}@example.com`;
    const signup = await call("/v1/signup", post({ email, password: "correct horse battery" }));
    expect(signup.status).toBe(201);
    const tokens = (await signup.json()) as { access_token: string; refresh_token: string };
    const refreshed = await call("/oauth/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: tokens.refresh_token,
      }),
    });
    expect(refreshed.status).toBe(200);
    const { access_token } = (await refreshed.json()) as { access_token: string };
    const jwks = await (await call("/.well-known/jwks.json")).json();
    const { payload } = await jwtVerify(access_token, createLocalJWKSet(jwks as { keys: [] }), {
      issuer: "http://localhost:8787",
      audience: "http://localhost:8787",
      typ: "at+jwt",
    });
    expect(payload.client_id).toBe("first-party");
    // The session records the client IP Cloudflare reports.
    const sessions = await call("/v1/sessions", {
      headers: { Authorization: `Bearer ${access_token}` },
    });
    const list = (await sessions.json()) as { sessions: Array<{ ip: string }> };
    expect(list.sessions[0]?.ip).toBe("203.0.113.7");
  });

  it("answers 500 server_error without details when TESSERA_SECRET is missing", async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request("http://localhost/healthz") as Request<unknown, IncomingRequestCfProperties>,
      // Empty counts as unset (a local .dev.vars may provide one to the pool).
      { ...env, TESSERA_SECRET: "", LOG_LEVEL: "silent" },
      ctx,
    );
    expect(res.status).toBe(500);
    expect(res.headers.get("X-Request-Id")).toMatch(/.+/);
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    const body = (await res.json()) as { error: string; error_description: string };
    expect(body.error).toBe("server_error");
    expect(JSON.stringify(body)).not.toMatch(/TESSERA_SECRET|stack|at /);
  });

  it("runs key maintenance and pruning from the cron trigger", async () => {
    const vars = { ...env, TESSERA_SECRET: SECRET, LOG_LEVEL: "silent" };
    // Warm the runtime with the env the cron gets: start-up creates missing keys itself, so
    // only a warm runtime shows what the scheduled handler does.
    const ctx = createExecutionContext();
    const health = await worker.fetch(
      new Request("http://localhost/healthz") as Request<unknown, IncomingRequestCfProperties>,
      vars,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(health.status).toBe(200);

    // State only maintenance changes. Default ACCESS_TOKEN_TTL (15 min) + 60 s skew: a key
    // that stopped signing a day ago is past it, one that stopped a minute ago is not.
    const now = Date.now();
    const DAY = 86_400_000;
    const id = crypto.randomUUID();
    const previousKey = (kid: string, deactivatedAt: number) =>
      env.DB.prepare(
        `INSERT INTO signing_keys (kid, alg, status, public_jwk, private_jwk_jwe, created_at, activated_at, deactivated_at)
         SELECT ?, alg, 'previous', public_jwk, private_jwk_jwe, ?, ?, ? FROM signing_keys WHERE status = 'current' AND alg = 'EdDSA'`,
      ).bind(kid, deactivatedAt - 30 * DAY, deactivatedAt - 30 * DAY, deactivatedAt);
    await env.DB.batch([
      env.DB.prepare("DELETE FROM signing_keys WHERE status = 'next'"),
      previousKey(`old-${id}`, now - DAY),
      previousKey(`recent-${id}`, now - 60_000),
      env.DB.prepare(
        "INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 1), (?, ?, 1)",
      ).bind(`auth:stale-${id}`, now - 2 * DAY, `auth:fresh-${id}`, now),
      env.DB.prepare(
        "INSERT INTO login_throttles (key, failures, last_failure_at) VALUES (?, 3, ?)",
      ).bind(`stale-${id}`, now - 3 * DAY),
      env.DB.prepare(
        "INSERT INTO auth_events (id, user_id, type, created_at) VALUES (?, ?, 'login_failed', ?), (?, ?, 'login_failed', ?)",
      ).bind(`old-${id}`, id, now - 91 * DAY, `recent-${id}`, id, now),
    ]);

    await worker.scheduled(
      { scheduledTime: now, cron: "*/15 * * * *", noRetry() {} } as ScheduledController,
      vars,
    );

    const keys = await env.DB.prepare("SELECT kid, alg, status, retired_at FROM signing_keys").all<{
      kid: string;
      alg: string;
      status: string;
      retired_at: number | null;
    }>();
    const statusOf = (kid: string) => keys.results.find((k) => k.kid === kid)?.status;
    // A next key again for each kept alg: SIGNING_ALG's and RS256 (ID tokens).
    expect(
      keys.results
        .filter((k) => k.status === "next")
        .map((k) => k.alg)
        .sort(),
    ).toEqual(["EdDSA", "RS256"]);
    expect(statusOf(`old-${id}`)).toBe("retired");
    expect(keys.results.find((k) => k.kid === `old-${id}`)?.retired_at).toBeGreaterThanOrEqual(now);
    expect(statusOf(`recent-${id}`)).toBe("previous");

    const left = async (sql: string, ...args: string[]) =>
      (
        await env.DB.prepare(sql)
          .bind(...args)
          .all<{ key: string }>()
      ).results.map((r) => r.key);
    expect(
      await left(
        "SELECT key FROM rate_limits WHERE key IN (?, ?) ORDER BY key",
        `auth:fresh-${id}`,
        `auth:stale-${id}`,
      ),
    ).toEqual([`auth:fresh-${id}`]);
    expect(await left("SELECT key FROM login_throttles WHERE key = ?", `stale-${id}`)).toEqual([]);
    expect(
      await left("SELECT id AS key FROM auth_events WHERE user_id = ? ORDER BY id", id),
    ).toEqual([`recent-${id}`]);
  });
});

describe("password hashes cross runtimes", () => {
  it("verifies in workerd a PHC string made by the Node hasher", async () => {
    const hasher = createPasswordHasher();
    expect(env.NODE_PHC).toMatch(/^\$scrypt\$ln=14,r=8,p=5\$/);
    expect(await hasher.verify(env.CROSS_RUNTIME_PASSWORD, env.NODE_PHC)).toEqual({
      valid: true,
      needsRehash: false,
    });
    expect((await hasher.verify("another password", env.NODE_PHC)).valid).toBe(false);
  });

  it("logs in on Workers a user whose hash was written on Node", async () => {
    const email = `node-made.${crypto.randomUUID()}@example.com`;
    const now = Date.now();
    await env.DB.prepare(
      "INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
    )
      .bind(crypto.randomUUID(), email, env.NODE_PHC, now, now)
      .run();
    const res = await call("/v1/login", post({ email, password: env.CROSS_RUNTIME_PASSWORD }), {
      SCRYPT_LN: "14",
    });
    expect(res.status).toBe(200);
  });
});
