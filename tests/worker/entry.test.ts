import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createLocalJWKSet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { createPasswordHasher } from "../../src/passwords/hasher.ts";
import { generateSecret } from "../../src/secrets/derive-keys.ts";
import worker from "../../src/worker.ts";

const SECRET = generateSecret();

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

  it("runs key maintenance from the cron trigger", async () => {
    await env.DB.prepare("DELETE FROM signing_keys WHERE status = 'next'").run();
    const vars = { ...env, TESSERA_SECRET: SECRET, LOG_LEVEL: "silent" };
    await worker.scheduled(
      { scheduledTime: Date.now(), cron: "*/15 * * * *", noRetry() {} } as ScheduledController,
      vars,
    );
    const row = await env.DB.prepare(
      "SELECT count(*) AS n FROM signing_keys WHERE status = 'next'",
    ).first<{ n: number }>();
    expect(row?.n).toBe(1);
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
