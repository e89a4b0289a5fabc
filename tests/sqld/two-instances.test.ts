import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { sessions, users } from "../../src/db/schema.ts";
import { KEY_CACHE_MS } from "../../src/keys/key-store.ts";
import { randomSecret } from "../../src/lib/random-id.ts";
import {
  bearer,
  errorOf,
  json,
  PASSWORD,
  refresh,
  signup,
  type TokenBody,
  uniqueEmail,
} from "../cases/helpers.ts";
import { nodeHarnessOn } from "../harness/node.ts";
import { sqldHarnessPerFile } from "../harness/node-sqld.ts";
import { openHarness } from "../harness/open.ts";
import type { Harness } from "../harness/types.ts";

const MINUTE = 60_000;

/**
 * Two Tessera instances behind a load balancer, one libSQL server: each has its own app, key
 * cache, clock and `@libsql/client` opened by the production opener on the same server,
 * and the same TESSERA_SECRET (as every instance of one deployment has). Nothing is shared in
 * memory: whatever they agree on, they agree on through sqld.
 */
const { harness, url } = sqldHarnessPerFile();
/**
 * Instance B on the database as A left it (nothing emptied), through the URL form Turso users
 * write: `libsql://` (WebSockets; `tls=0` for a local server). A speaks HTTP.
 */
const sameDatabaseOverWebSockets = nodeHarnessOn(async () => ({
  url: `${url().replace(/^http:/, "libsql:")}?tls=0`,
  release: async () => {},
}));

async function twoInstances(env: Record<string, string> = {}) {
  const shared = { TESSERA_SECRET: randomSecret(), ...env };
  const a = await openHarness(harness, shared); // starts from an empty database
  const b = await openHarness(sameDatabaseOverWebSockets, shared);
  b.clock.set(a.clock.now());
  return {
    a,
    b,
    /** Moves both clocks (one wall clock, two processes). */
    advance(ms: number) {
      a.clock.advance(ms);
      b.clock.advance(ms);
    },
    set(ms: number) {
      a.clock.set(ms);
      b.clock.set(ms);
    },
  };
}

const login = (h: Harness, email: string, password: string) =>
  h.request("/v1/login", json({ email, password }));

const jwks = async (h: Harness) =>
  (
    (await (await h.request("/.well-known/jwks.json")).json()) as { keys: Array<{ kid: string }> }
  ).keys
    .map((k) => k.kid)
    .sort();

describe("two Node instances on one sqld", () => {
  it("20 concurrent refreshes of one token, split across both, converge on one token", async () => {
    const { a, b, advance } = await twoInstances();
    const { tokens } = await signup(a);
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => refresh(i % 2 === 0 ? a : b, tokens.refresh_token)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as TokenBody[];
    const next = new Set(bodies.map((body) => body.refresh_token));
    expect(next.size).toBe(1);
    const [winner] = [...next] as [string];
    expect(winner.split(".")[1]).toBe("1");
    // Not revoked: the token rotates on, on either instance, and the session is listed.
    advance(1000);
    const third = await refresh(b, winner);
    expect(third.status).toBe(200);
    const { access_token, refresh_token } = (await third.json()) as TokenBody;
    expect(refresh_token.split(".")[1]).toBe("2");
    const listed = await a.request("/v1/sessions", bearer(access_token));
    expect(listed.status).toBe(200);
    const list = (await listed.json()) as { sessions: Array<{ id: string }> };
    expect(list.sessions.map((s) => s.id)).toEqual([winner.split(".")[0]]);
  });

  it("a replay on B after the grace revokes the session made on A", async () => {
    const { a, b, advance } = await twoInstances();
    const { tokens } = await signup(a);
    const rotated = (await (await refresh(a, tokens.refresh_token)).json()) as TokenBody;
    advance(11_000); // past REFRESH_REUSE_GRACE (10 s)
    const replay = await refresh(b, tokens.refresh_token);
    expect(await errorOf(replay)).toMatchObject({ status: 400, error: "invalid_grant" });
    expect(b.logs.map((l) => JSON.parse(l).event)).toContain("refresh_token_reuse");
    // A learns it from the database: the newest token of the family is dead there too.
    expect(await errorOf(await refresh(a, rotated.refresh_token))).toMatchObject({
      status: 400,
      error: "invalid_grant",
    });
    const stored = await a.db
      .select({ revokedAt: sessions.revokedAt, reason: sessions.revokedReason })
      .from(sessions);
    expect(stored).toEqual([{ revokedAt: b.clock.now(), reason: "refresh_token_reuse" }]);
  });

  it("per-IP rate limits are shared: attempts on A count on B", async () => {
    const { a, b, set } = await twoInstances({ RATE_LIMIT_AUTH: "4/1m" });
    set(Math.floor(a.clock.now() / MINUTE) * MINUTE + 1000);
    const statuses = [];
    for (const h of [a, a, b, b, a, b]) {
      statuses.push((await login(h, uniqueEmail(), "wrong password")).status);
    }
    expect(statuses).toEqual([400, 400, 400, 400, 429, 429]);
  });

  it("sign-in delays are shared: failures on A delay the account on B, without hashing", async () => {
    const { a, b, advance } = await twoInstances({ RATE_LIMITS: "off" });
    const { email } = await signup(a);
    for (let i = 0; i < 5; i++) expect((await login(a, email, "wrong password")).status).toBe(400);
    const hashed = b.hashCount();
    const blocked = await login(b, email, PASSWORD);
    expect(await errorOf(blocked)).toMatchObject({ status: 429, error: "too_many_requests" });
    expect(b.hashCount()).toBe(hashed);
    advance(2000);
    expect((await login(b, email, PASSWORD)).status).toBe(200);
  });

  it("a key rotation on A reaches B's JWKS and signing within its key cache time", async () => {
    const { a, b, advance } = await twoInstances();
    const before = await jwks(b); // B's cache is warm
    const rotation = await a.rotateKeys();
    // A signs with the new current at once; B verifies it at once: it was B's cached `next`.
    const { tokens } = await signup(a);
    expect(decodeProtectedHeader(tokens.access_token).kid).toBe(rotation.current);
    expect((await b.request("/v1/me", bearer(tokens.access_token))).status).toBe(200);
    // Inside the cache time B still serves what it loaded…
    advance(KEY_CACHE_MS - 1);
    expect(await jwks(b)).toEqual(before);
    // …and not a moment longer: the new next key is published, and B signs with the new current.
    advance(1);
    const after = await jwks(b);
    expect(after).toEqual(await jwks(a));
    expect(after).toContain(rotation.next);
    const fromB = await signup(b);
    expect(decodeProtectedHeader(fromB.tokens.access_token).kid).toBe(rotation.current);
    expect((await a.request("/v1/me", bearer(fromB.tokens.access_token))).status).toBe(200);
  });

  it("signups racing on both instances for one email make one account", async () => {
    const { a, b } = await twoInstances({ RATE_LIMITS: "off" });
    const emails = Array.from({ length: 5 }, () => uniqueEmail("race"));
    const raced = await Promise.all(
      emails.map((email) =>
        Promise.all(
          [a, b].map((h) => h.request("/v1/signup", json({ email, password: PASSWORD }))),
        ),
      ),
    );
    for (const pair of raced) {
      expect(pair.map((r) => r.status).sort()).toEqual([201, 409]);
      const loser = pair.find((r) => r.status === 409) as Response;
      expect(await errorOf(loser)).toMatchObject({ error: "user_exists" });
    }
    const rows = await a.db.select({ email: users.email }).from(users);
    expect(rows.map((r) => r.email).sort()).toEqual([...emails].sort());
  });

  it("with EMAIL_VERIFICATION=required both racers get the same answer and one account exists", async () => {
    const { a, b } = await twoInstances({ RATE_LIMITS: "off", EMAIL_VERIFICATION: "required" });
    const email = uniqueEmail("race-required");
    const pair = await Promise.all(
      [a, b].map((h) => h.request("/v1/signup", json({ email, password: PASSWORD }))),
    );
    expect(pair.map((r) => r.status)).toEqual([202, 202]);
    const rows = await b.db.select({ email: users.email }).from(users);
    expect(rows.map((r) => r.email)).toEqual([email]);
  });
});
