import { sql } from "drizzle-orm";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  basic,
  bearer,
  errorOf,
  form,
  json,
  login,
  PASSWORD,
  refresh,
  signup,
  uniqueEmail,
} from "../cases/helpers.ts";
import { openHarness } from "../harness/open.ts";
import type { Harness, HarnessFactory } from "../harness/types.ts";

/** Request bodies are limited to 64 KB (docs/design/errors.md#body-limit). */
const LIMIT = 64 * 1024;

const FORM = "application/x-www-form-urlencoded";
const JSON_TYPE = "application/json";

/** A body of exactly `size` bytes of the given content type (JSON or form). */
function bodyOfSize(type: string, size: number): string {
  if (type === FORM) {
    const prefix = "grant_type=refresh_token&refresh_token=";
    return prefix + "x".repeat(size - prefix.length);
  }
  const prefix = '{"email":"big@example.com","password":"';
  return `${prefix}${"x".repeat(size - prefix.length - 2)}"}`;
}

/** A chunked body: a stream with no Content-Length, 8 KB a chunk. */
function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(offset, offset + 8192));
      offset += 8192;
    },
  });
}

type PostRoute = {
  path: string;
  type: string;
  /** Headers that get the request past authentication, so the limit is what answers. */
  headers: Record<string, string>;
};

/** Every POST route with what it needs to be reached; `/v1/password` only where it exists. */
async function postRoutes(h: Harness): Promise<PostRoute[]> {
  const { tokens } = await signup(h);
  const auth = { Authorization: `Bearer ${tokens.access_token}` };
  const rs = await h.registerClient({ name: "api", grantTypes: ["client_credentials"] });
  const routes: PostRoute[] = [
    { path: "/v1/signup", type: JSON_TYPE, headers: {} },
    { path: "/v1/login", type: JSON_TYPE, headers: {} },
    { path: "/v1/logout", type: JSON_TYPE, headers: auth },
    { path: "/oauth/token", type: FORM, headers: {} },
    { path: "/oauth/revoke", type: FORM, headers: {} },
    {
      path: "/oauth/introspect",
      type: FORM,
      headers: { Authorization: basic(rs.clientId, rs.clientSecret as string) },
    },
  ];
  // Skip /v1/password where it is not built yet.
  const probe = await h.request("/v1/password", { method: "POST", headers: auth });
  if (probe.status !== 404) routes.push({ path: "/v1/password", type: JSON_TYPE, headers: auth });
  return routes;
}

const SECURITY_HEADERS = (res: Response, label: string) => {
  expect(res.headers.get("X-Content-Type-Options"), label).toBe("nosniff");
  expect(res.headers.get("Referrer-Policy"), label).toBe("no-referrer");
  expect(res.headers.get("Content-Security-Policy") ?? "", label).toMatch(
    /(^|;)\s*frame-ancestors 'none'\s*(;|$)/,
  );
};

/** One of each kind of response: success, errors, 404, 405, 413, 415. */
async function sampleResponses(h: Harness): Promise<Array<[string, Response]>> {
  const { tokens } = await signup(h);
  return [
    ["200 healthz", await h.request("/healthz")],
    ["200 jwks", await h.request("/.well-known/jwks.json")],
    ["200 me", await h.request("/v1/me", bearer(tokens.access_token))],
    [
      "201 signup",
      await h.request("/v1/signup", json({ email: "hdr@example.com", password: PASSWORD })),
    ],
    [
      "400 bad JSON",
      await h.request("/v1/login", {
        method: "POST",
        headers: { "Content-Type": JSON_TYPE },
        body: "{",
      }),
    ],
    [
      "400 invalid_grant",
      await h.request(
        "/oauth/token",
        form({ grant_type: "refresh_token", refresh_token: "x.1.y" }),
      ),
    ],
    ["401 no token", await h.request("/v1/me")],
    ["401 bad token", await h.request("/v1/me", bearer("a.b.c"))],
    ["404", await h.request("/no/such/route")],
    ["405", await h.request("/v1/login", { method: "GET" })],
    [
      "413",
      await h.request("/v1/login", {
        method: "POST",
        headers: { "Content-Type": JSON_TYPE },
        body: bodyOfSize(JSON_TYPE, LIMIT + 1),
      }),
    ],
    [
      "415",
      await h.request("/v1/login", {
        method: "POST",
        headers: { "Content-Type": "text/plain" },
        body: "{}",
      }),
    ],
  ];
}

export function httpHardeningCases(createHarness: HarnessFactory) {
  describe("HTTP hardening", () => {
    it("limits every POST route to 64 KB: 413 with Connection: close, before any hashing", async () => {
      const h = await openHarness(createHarness);
      const routes = await postRoutes(h);
      expect(routes.map((r) => r.path)).toEqual(
        expect.arrayContaining(["/v1/signup", "/v1/login", "/oauth/token"]),
      );
      const hashesBefore = h.hashCount();
      for (const route of routes) {
        const big = bodyOfSize(route.type, LIMIT + 1);
        const headers = { ...route.headers, "Content-Type": route.type };
        const attempts: Array<[string, RequestInit]> = [
          // Declared length: refused before the body is read.
          [
            "Content-Length",
            {
              method: "POST",
              headers: { ...headers, "Content-Length": String(big.length) },
              body: big,
            },
          ],
          ["no Content-Length", { method: "POST", headers, body: big }],
          // Chunked: a stream without Content-Length, counted as it is read.
          [
            "chunked stream",
            { method: "POST", headers, body: streamOf(big), duplex: "half" } as RequestInit,
          ],
        ];
        for (const [how, init] of attempts) {
          const res = await h.request(route.path, init);
          const label = `${route.path} (${how})`;
          expect(res.headers.get("Connection"), label).toBe("close");
          expect(await errorOf(res), label).toMatchObject({
            status: 413,
            error: "payload_too_large",
          });
        }
      }
      // signup and login were refused before any password was hashed.
      expect(h.hashCount()).toBe(hashesBefore);
      // The limit is 64 KB, not less: a body of exactly 64 KB is read (and refused on its merits).
      const atLimit = await h.request("/oauth/token", {
        method: "POST",
        headers: { "Content-Type": FORM },
        body: bodyOfSize(FORM, LIMIT),
      });
      expect(await errorOf(atLimit)).toMatchObject({ status: 400, error: "invalid_grant" });
      const streamedAtLimit = await h.request("/oauth/token", {
        method: "POST",
        headers: { "Content-Type": FORM },
        body: streamOf(bodyOfSize(FORM, LIMIT)),
        duplex: "half",
      } as RequestInit);
      expect(await errorOf(streamedAtLimit)).toMatchObject({ status: 400, error: "invalid_grant" });
    });

    it("JSON endpoints answer 415 to text/plain, form, multipart and a body without a type", async () => {
      const h = await openHarness(createHarness);
      const { email, tokens } = await signup(h);
      const credentials = JSON.stringify({ email, password: PASSWORD });
      const auth = { Authorization: `Bearer ${tokens.access_token}` };
      const endpoints: Array<[string, Record<string, string>, string]> = [
        ["/v1/signup", {}, JSON.stringify({ email: `new.${email}`, password: PASSWORD })],
        ["/v1/login", {}, credentials],
        ["/v1/logout", auth, JSON.stringify({ scope: "global" })],
      ];
      const probe = await h.request("/v1/password", { method: "POST", headers: auth });
      if (probe.status !== 404) {
        endpoints.push([
          "/v1/password",
          auth,
          JSON.stringify({ current_password: PASSWORD, new_password: `${PASSWORD} 2` }),
        ]);
      }
      const hashesBefore = h.hashCount();
      for (const [path, headers, body] of endpoints) {
        for (const type of [
          "text/plain",
          FORM,
          "multipart/form-data; boundary=x",
          "application/xml",
          undefined,
        ]) {
          const res = await h.request(path, {
            method: "POST",
            headers: type ? { ...headers, "Content-Type": type } : headers,
            // Bytes, so that fetch adds no Content-Type of its own.
            body: new TextEncoder().encode(body),
          });
          expect(await errorOf(res), `${path} ${type}`).toMatchObject({
            status: 415,
            error: "unsupported_media_type",
          });
        }
      }
      expect(h.hashCount()).toBe(hashesBefore);
      // None of them acted: the session is alive (no global logout happened).
      expect((await h.request("/v1/me", bearer(tokens.access_token))).status).toBe(200);
      // JSON with a charset is JSON; logout with no body and no type is accepted.
      const ok = await h.request(
        "/v1/login",
        json({ email, password: PASSWORD }, { "Content-Type": "application/json; charset=utf-8" }),
      );
      expect(ok.status).toBe(200);
      const logout = await h.request("/v1/logout", bearer(tokens.access_token, { method: "POST" }));
      expect(logout.status).toBe(204);
    });

    it("/oauth/token, /oauth/revoke, /oauth/introspect accept form and JSON, 415 otherwise", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const rs = await h.registerClient({ name: "api", grantTypes: ["client_credentials"] });
      const rsAuth = { Authorization: basic(rs.clientId, rs.clientSecret as string) };
      const post = (path: string, type: string | undefined, body: string, headers = {}) =>
        h.request(path, {
          method: "POST",
          headers: type ? { ...headers, "Content-Type": type } : headers,
          body: new TextEncoder().encode(body),
        });
      const asForm = (p: Record<string, string>) => new URLSearchParams(p).toString();

      // /oauth/token: form, then JSON with the rotated token.
      const byForm = await post(
        "/oauth/token",
        FORM,
        asForm({ grant_type: "refresh_token", refresh_token: tokens.refresh_token }),
      );
      expect(byForm.status).toBe(200);
      const rotated = (await byForm.json()) as { refresh_token: string; access_token: string };
      const byJson = await post(
        "/oauth/token",
        JSON_TYPE,
        JSON.stringify({ grant_type: "refresh_token", refresh_token: rotated.refresh_token }),
      );
      expect(byJson.status).toBe(200);
      const latest = (await byJson.json()) as { refresh_token: string; access_token: string };

      // /oauth/introspect: form and JSON.
      for (const [type, body] of [
        [FORM, asForm({ token: latest.access_token })],
        [JSON_TYPE, JSON.stringify({ token: latest.access_token })],
      ] as const) {
        const res = await post("/oauth/introspect", type, body, rsAuth);
        expect(res.status, type).toBe(200);
        expect(((await res.json()) as { active: boolean }).active, type).toBe(true);
      }

      // 415 for text/plain and for a body without a type, on all three.
      for (const [path, body, headers] of [
        [
          "/oauth/token",
          asForm({ grant_type: "refresh_token", refresh_token: latest.refresh_token }),
          {},
        ],
        ["/oauth/revoke", asForm({ token: latest.refresh_token }), {}],
        ["/oauth/introspect", asForm({ token: latest.access_token }), rsAuth],
      ] as const) {
        for (const type of ["text/plain", "application/xml", undefined]) {
          const res = await post(path, type, body, headers);
          expect(await errorOf(res), `${path} ${type}`).toMatchObject({
            status: 415,
            error: "unsupported_media_type",
          });
        }
      }

      // /oauth/revoke: JSON, then form (RFC 7009 answers 200 either way; the session ends).
      const other = await login(h, (tokens.user as { email: string }).email);
      expect(
        (await post("/oauth/revoke", JSON_TYPE, JSON.stringify({ token: latest.refresh_token })))
          .status,
      ).toBe(200);
      expect((await refresh(h, latest.refresh_token)).status).toBe(400);
      expect(
        (await post("/oauth/revoke", FORM, asForm({ token: other.refresh_token }))).status,
      ).toBe(200);
      expect((await refresh(h, other.refresh_token)).status).toBe(400);
    });

    it("a repeated parameter on /oauth/token, /oauth/revoke, /oauth/introspect is invalid_request", async () => {
      const h = await openHarness(createHarness);
      const { tokens } = await signup(h);
      const rs = await h.registerClient({ name: "api", grantTypes: ["client_credentials"] });
      const rt = encodeURIComponent(tokens.refresh_token);
      const at = encodeURIComponent(tokens.access_token);
      const cases: Array<[string, string, Record<string, string>]> = [
        ["/oauth/token", `grant_type=refresh_token&refresh_token=${rt}&refresh_token=${rt}`, {}],
        [
          "/oauth/token",
          `grant_type=refresh_token&grant_type=refresh_token&refresh_token=${rt}`,
          {},
        ],
        [
          "/oauth/token",
          `grant_type=refresh_token&refresh_token=${rt}&client_id=first-party&client_id=first-party`,
          {},
        ],
        [
          "/oauth/token",
          `grant_type=client_credentials&client_id=${rs.clientId}&client_secret=${rs.clientSecret}&client_secret=${rs.clientSecret}`,
          {},
        ],
        ["/oauth/revoke", `token=${rt}&token=${rt}`, {}],
        [
          "/oauth/revoke",
          `token=${rt}&token_type_hint=refresh_token&token_type_hint=refresh_token`,
          {},
        ],
        [
          "/oauth/introspect",
          `token=${at}&token=${at}`,
          { Authorization: basic(rs.clientId, rs.clientSecret as string) },
        ],
        [
          "/oauth/introspect",
          `token=${at}&client_id=${rs.clientId}&client_id=${rs.clientId}&client_secret=${rs.clientSecret}`,
          {},
        ],
      ];
      for (const [path, body, headers] of cases) {
        const res = await h.request(path, {
          method: "POST",
          headers: { ...headers, "Content-Type": FORM },
          body,
        });
        expect(await errorOf(res), `${path} ${body.slice(0, 60)}`).toMatchObject({
          status: 400,
          error: "invalid_request",
        });
      }
      // None of them rotated or revoked anything: the refresh token still works.
      expect((await refresh(h, tokens.refresh_token)).status).toBe(200);
    });

    // Regression: JSON.parse kept the last of duplicated keys, so a parameter could be
    // repeated after all (a proxy reading the first value sees another request).
    it("a repeated key in an /oauth/* JSON body is invalid_request", async () => {
      const h = await openHarness(createHarness);
      const rs = await h.registerClient({ name: "api", grantTypes: ["client_credentials"] });
      const res = await h.request("/oauth/token", {
        method: "POST",
        headers: { "Content-Type": JSON_TYPE },
        body: `{"grant_type":"refresh_token","grant_type":"client_credentials","client_id":"${rs.clientId}","client_secret":"${rs.clientSecret}"}`,
      });
      expect(await errorOf(res)).toMatchObject({ status: 400, error: "invalid_request" });
    });

    it("answers a wrong method with 405 method_not_allowed and Allow", async () => {
      const h = await openHarness(createHarness);
      const cases: Array<[string, string, string]> = [
        ["GET", "/v1/login", "POST"],
        ["DELETE", "/oauth/token", "POST"],
        ["POST", "/.well-known/jwks.json", "GET"],
        ["PUT", "/v1/me", "GET"],
        ["PATCH", "/v1/signup", "POST"],
        ["GET", "/oauth/introspect", "POST"],
      ];
      for (const [method, path, allowed] of cases) {
        const res = await h.request(path, { method });
        const label = `${method} ${path}`;
        const allow = (res.headers.get("Allow") ?? "").split(/\s*,\s*/);
        expect(allow, label).toContain(allowed);
        expect(allow, label).not.toContain(method);
        expect(await errorOf(res), label).toMatchObject({
          status: 405,
          error: "method_not_allowed",
        });
      }
    });

    it("sets security headers on success, error, 404, 405, 413 and 415; no HSTS over http", async () => {
      const h = await openHarness(createHarness, { ISSUER: "http://auth.example.test" });
      const responses = await sampleResponses(h);
      for (const [label, res] of responses) {
        SECURITY_HEADERS(res, label);
        expect(res.headers.get("Strict-Transport-Security"), label).toBeNull();
      }
      expect(responses.map(([, res]) => res.status)).toEqual([
        200, 200, 200, 201, 400, 400, 401, 401, 404, 405, 413, 415,
      ]);
    });

    it("sends HSTS on every response when the issuer is https", async () => {
      const h = await openHarness(createHarness, { ISSUER: "https://auth.example.com" });
      const responses = await sampleResponses(h);
      for (const [label, res] of responses) {
        SECURITY_HEADERS(res, label);
        const hsts = res.headers.get("Strict-Transport-Security") ?? "";
        const maxAge = Number(/(?:^|;)\s*max-age=(\d+)/i.exec(hsts)?.[1] ?? 0);
        // At least a year (the HSTS preload minimum).
        expect(maxAge, `${label}: ${hsts}`).toBeGreaterThanOrEqual(31_536_000);
      }
      expect(responses.map(([, res]) => res.status)).toEqual([
        200, 200, 200, 201, 400, 400, 401, 401, 404, 405, 413, 415,
      ]);
    });

    it("logs one line a request and never a password, token, secret or Authorization value", async () => {
      const base = await openHarness(createHarness);
      const ids: string[] = [];
      // Counts every request and remembers its X-Request-Id.
      const h: Harness = {
        ...base,
        request: async (path, init) => {
          const res = await base.request(path, init);
          ids.push(res.headers.get("X-Request-Id") ?? "(none)");
          return res;
        },
      };
      const rs = await h.registerClient({ name: "api", grantTypes: ["client_credentials"] });
      const clientSecret = rs.clientSecret as string;
      const basicAuth = basic(rs.clientId, clientSecret);
      const wrongPassword = "Wrong-Horse-Battery-Staple-42";

      const { email, tokens: signedUp } = await signup(h);
      const loggedIn = await login(h, email);
      const refreshed = (await (await refresh(h, loggedIn.refresh_token)).json()) as {
        access_token: string;
        refresh_token: string;
      };
      const failed = await h.request("/v1/login", json({ email, password: wrongPassword }));
      expect(failed.status).toBe(400);
      const me = await h.request("/v1/me", bearer(refreshed.access_token));
      expect(me.status).toBe(200);
      // Authorization headers on routes that do not even read them.
      await h.request("/healthz", bearer(refreshed.access_token));
      await h.request("/healthz", { headers: { Authorization: basicAuth } });
      // A token in the query string (the raw URL is never logged).
      await h.request(`/v1/me?access_token=${refreshed.access_token}`);
      // A refused bearer token, and client secrets in Basic and in the body.
      const forged = `${refreshed.access_token.slice(0, -6)}AAAAAA`;
      expect((await h.request("/v1/me", bearer(forged))).status).toBe(401);
      const introspected = await h.request("/oauth/introspect", {
        ...form({ token: refreshed.access_token }),
        headers: { "Content-Type": FORM, Authorization: basicAuth },
      });
      expect(introspected.status).toBe(200);
      const viaPost = await h.request(
        "/oauth/introspect",
        form({
          token: signedUp.refresh_token,
          client_id: rs.clientId,
          client_secret: clientSecret,
        }),
      );
      expect(viaPost.status).toBe(200);
      const service = await h.request("/oauth/token", {
        ...form({ grant_type: "client_credentials" }),
        headers: { "Content-Type": FORM, Authorization: basicAuth },
      });
      const serviceToken = ((await service.json()) as { access_token: string }).access_token;
      // A racing retry of the same refresh (converges within the grace) and a revocation.
      expect((await refresh(h, loggedIn.refresh_token)).status).toBe(200);
      await h.request("/oauth/revoke", form({ token: signedUp.refresh_token }));
      await h.request("/v1/logout", bearer(signedUp.access_token, { method: "POST" }));

      const secrets: Record<string, string> = {
        password: PASSWORD,
        "wrong password": wrongPassword,
        "client secret": clientSecret,
        "Basic credentials": basicAuth.slice("Basic ".length),
        TESSERA_SECRET: h.config.secret as string,
      };
      for (const [name, token] of Object.entries({
        "signup access": signedUp.access_token,
        "login access": loggedIn.access_token,
        "refreshed access": refreshed.access_token,
        "service access": serviceToken,
        forged,
      })) {
        secrets[name] = token;
        // The signature alone is a secret-bearing fragment too.
        secrets[`${name} signature`] = token.split(".")[2] as string;
      }
      for (const [name, token] of Object.entries({
        "signup refresh": signedUp.refresh_token,
        "login refresh": loggedIn.refresh_token,
        "refreshed refresh": refreshed.refresh_token,
      })) {
        secrets[name] = token;
        secrets[`${name} MAC`] = token.split(".")[2] as string;
      }
      expect(h.config.secret).toMatch(/.{43,}/);
      const all = h.logs.join("\n");
      for (const [name, value] of Object.entries(secrets)) {
        expect(value.length, name).toBeGreaterThan(8);
        expect(all.includes(value), `${name} appears in the logs`).toBe(false);
      }
      // No JWT-shaped string at all, and no Authorization value by field name.
      expect(all).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
      expect(all).not.toMatch(
        /"(authorization|password|client_secret|refresh_token|access_token|token|secret)"\s*:/i,
      );

      const lines = h.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
      const requests = lines.filter((line) => line.event === "request");
      // One line a request, each with the documented fields.
      expect(requests).toHaveLength(ids.length);
      for (const line of requests) {
        expect(typeof line.request_id, JSON.stringify(line)).toBe("string");
        expect(line.request_id).not.toBe("");
        expect(typeof line.route, JSON.stringify(line)).toBe("string");
        expect(typeof line.status, JSON.stringify(line)).toBe("number");
        expect(typeof line.duration_ms, JSON.stringify(line)).toBe("number");
      }
      expect(requests.map((line) => line.request_id)).toEqual(ids);
      // The user id is logged when known.
      const meLine = requests[ids.indexOf(me.headers.get("X-Request-Id") as string)];
      expect(meLine).toMatchObject({ route: "/v1/me", status: 200, user_id: signedUp.user?.id });
    });

    // Regression: an unexpected database error was logged with drizzle's message, which
    // carries the query parameters — here the new user's scrypt hash and email.
    it("a database failure does not log query parameters", async () => {
      const h = await openHarness(createHarness);
      // D1 keeps a test file's schema across harnesses: leave no trigger behind, pass or fail
      // (runs before the harness closes: onTestFinished callbacks run last-registered first).
      onTestFinished(async () => {
        await h.db.run(sql.raw("DROP TRIGGER IF EXISTS refuse_users"));
      });
      await h.db.run(
        sql.raw(
          "CREATE TRIGGER refuse_users BEFORE INSERT ON users BEGIN SELECT RAISE(ABORT, 'refused'); END",
        ),
      );
      const res = await h.request("/v1/signup", json({ email: uniqueEmail(), password: PASSWORD }));
      expect(res.status).toBe(500);
      expect(h.logs.join("\n")).not.toContain("$scrypt$");
    });
  });
}
