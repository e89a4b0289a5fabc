import type { JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOKEN_EXCHANGE_GRANT } from "../../src/clients/client.ts";
import { addProvider, deleteProvider } from "../../src/providers/provider-store.ts";
import { deriveKeys } from "../../src/secrets/derive-keys.ts";
import { markEmailVerified } from "../../src/users/users.ts";
import {
  bearer,
  errorOf,
  form,
  json,
  refresh,
  signup,
  type TokenBody,
  uniqueEmail,
  verifyWithJwks,
} from "../cases/helpers.ts";
import { createNodeHarness } from "../harness/node.ts";
import { openHarness } from "../harness/open.ts";
import type { Harness } from "../harness/types.ts";
import { generateSigningJwk, type SigningJwk, sha256Hex } from "../upstream/id-token.ts";
import { type RunningOp, startOidcOp } from "../upstream/oidc-op.ts";

/**
 * The native leg of social sign-in (docs/design/upstream.md#native-token-exchange): an app's
 * provider id_token + nonce → a Tessera session, over `POST /oauth/token` (RFC 8693), and the
 * identities API. The upstream is a real OpenID Provider (tests/upstream/oidc-op.ts) on a
 * loopback port, whose discovery and JWKS Tessera's verifier fetches over HTTP; the test mints
 * the id_tokens an SDK would hand the app with the OP's private key.
 */

const ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token";
const ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";
const IOS_CLIENT = "com.example.ios";
const ANDROID_CLIENT = "1234-android.apps.example";

let upstream: RunningOp;
beforeAll(async () => {
  // The first client is the id_tokens' default audience.
  upstream = await startOidcOp({
    clients: [IOS_CLIENT, ANDROID_CLIENT].map((clientId) => ({
      clientId,
      clientSecret: crypto.randomUUID(),
      redirectUris: ["https://app.example/cb"],
    })),
  });
});
afterAll(() => upstream?.close());

const seconds = (ms: number) => Math.floor(ms / 1000);

/**
 * What the platform SDK returns: an id_token for `sub` (default: a new one), issued at the
 * test clock's time, signed with the upstream's key (or `jwk`, a forgery).
 */
function idToken(
  h: Harness,
  claims: JWTPayload & { nonce?: string; email?: string; email_verified?: boolean | string },
  options: { jwk?: SigningJwk; iatMs?: number; ttlS?: number } = {},
) {
  const iat = seconds(options.iatMs ?? h.clock.now());
  return upstream.mintIdToken(
    {
      sub: `sub-${crypto.randomUUID()}`,
      email_verified: true,
      iat,
      exp: iat + (options.ttlS ?? 600),
      ...claims,
    },
    { jwk: options.jwk },
  );
}

/** A fresh nonce, as the app generates one before calling the SDK. */
const newNonce = () => `n-${crypto.randomUUID()}`;

/** `POST /oauth/token` with the exchange grant, form-encoded like an OAuth client. */
const exchange = (h: Harness, params: Record<string, string>) =>
  h.request(
    "/oauth/token",
    form({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token_type: ID_TOKEN, ...params }),
  );

type ExchangeBody = TokenBody & {
  issued_token_type: string;
  user: { id: string; email: string; email_verified: boolean; created_at: string };
  scope?: string;
};

/** A harness with the upstream registered as the `acme` OIDC provider (native only: no secret). */
async function harnessWithProvider(env?: Record<string, string>) {
  const h = await openHarness(createNodeHarness, env);
  const { providerSecretKey } = await deriveKeys(h.config.secret as string);
  await addProvider(
    h.db,
    {
      name: "acme",
      kind: "oidc",
      issuer: upstream.issuer,
      clientIds: [IOS_CLIENT, ANDROID_CLIENT],
    },
    { secretKey: providerSecretKey, now: h.clock.now() },
  );
  return h;
}

/** Signs in through the exchange with a new nonce; fails the test unless it is 200. */
async function signInUpstream(
  h: Harness,
  claims: Parameters<typeof idToken>[1] = {},
  extra: Record<string, string> = {},
) {
  const nonce = newNonce();
  const res = await exchange(h, {
    subject_token: await idToken(h, { nonce, ...claims }),
    nonce,
    ...extra,
  });
  if (res.status !== 200) throw new Error(`exchange failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as ExchangeBody;
}

async function eventTypes(h: Harness, accessToken: string) {
  const res = await h.request("/v1/events", bearer(accessToken));
  expect(res.status).toBe(200);
  const { events } = (await res.json()) as { events: Array<{ type: string }> };
  return events.map((e) => e.type);
}

type IdentityView = {
  id: string;
  provider: string;
  kind: string | null;
  email: string | null;
  email_verified: boolean;
  created_at: string;
  last_used_at: string;
};

async function identitiesOf(h: Harness, accessToken: string) {
  const res = await h.request("/v1/identities", bearer(accessToken));
  expect(res.status).toBe(200);
  expect(res.headers.get("Cache-Control")).toBe("no-store");
  return ((await res.json()) as { identities: IdentityView[] }).identities;
}

/** Expects the generic refusal of a subject_token and a logged reason, never the token. */
async function expectRefused(h: Harness, res: Response, token: string, reason: RegExp) {
  expect(await errorOf(res)).toMatchObject({ status: 400, error: "invalid_grant" });
  const refusals = h.logs
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.event === "token_exchange_refused");
  expect(refusals.at(-1)?.reason).toMatch(reason);
  expect(refusals.at(-1)?.request_id).toBe(res.headers.get("X-Request-Id"));
  expect(h.logs.join("\n")).not.toContain(token);
  const signature = token.split(".")[2];
  if (signature) expect(h.logs.join("\n")).not.toContain(signature);
}

describe("native token exchange (RFC 8693)", () => {
  it("trades a valid id_token for a new account's tokens, verifiable with Tessera's JWKS", async () => {
    const h = await harnessWithProvider();
    const email = uniqueEmail("native");
    const nonce = newNonce();
    const token = await idToken(h, { nonce, email, sub: "acme-user-1" });
    const res = await exchange(h, { subject_token: token, nonce });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const body = (await res.json()) as ExchangeBody;
    expect(body).toMatchObject({
      token_type: "Bearer",
      issued_token_type: ACCESS_TOKEN,
      user: { email, email_verified: true },
    });
    expect(body.refresh_token).toEqual(expect.any(String));
    const { payload } = await verifyWithJwks(h, body.access_token);
    expect(payload.sub).toBe(body.user.id);
    expect(payload.client_id).toBe("first-party");
    // A new account: the signup, the link and the sign-in are on record.
    expect(await eventTypes(h, body.access_token)).toEqual(
      expect.arrayContaining(["signup", "identity_linked", "upstream_sign_in"]),
    );
    // Its refresh token is the first-party client's, as after /v1/login.
    expect((await refresh(h, body.refresh_token)).status).toBe(200);
    // The Android client id is another accepted audience; the same subject is the same user.
    const again = await signInUpstream(h, { sub: "acme-user-1", email, aud: ANDROID_CLIENT });
    expect(again.user.id).toBe(body.user.id);
    expect(await identitiesOf(h, again.access_token)).toHaveLength(1);
  });

  it("takes JSON as well as a form", async () => {
    const h = await harnessWithProvider();
    const nonce = newNonce();
    const res = await h.request(
      "/oauth/token",
      json({
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token_type: ID_TOKEN,
        subject_token: await idToken(h, { nonce, email: uniqueEmail() }),
        nonce,
      }),
    );
    expect(res.status).toBe(200);
  });

  it("is listed in discovery; the identities API in the OpenAPI document", async () => {
    const h = await openHarness(createNodeHarness);
    const meta = (await (await h.request("/.well-known/openid-configuration")).json()) as {
      grant_types_supported: string[];
    };
    expect(meta.grant_types_supported).toContain(TOKEN_EXCHANGE_GRANT);
    const doc = (await (await h.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.paths["/v1/identities"]?.get).toBeTruthy();
    expect(doc.paths["/v1/identities/{id}"]?.delete).toBeTruthy();
  });

  it("refuses a token for another audience", async () => {
    const h = await harnessWithProvider();
    const nonce = newNonce();
    const token = await idToken(h, { nonce, email: uniqueEmail(), aud: "someone-elses-app" });
    await expectRefused(
      h,
      await exchange(h, { subject_token: token, nonce }),
      token,
      /acme: wrong_audience/,
    );
  });

  it("refuses an expired token (the clock moved past exp and the tolerance)", async () => {
    const h = await harnessWithProvider();
    const nonce = newNonce();
    const token = await idToken(h, { nonce, email: uniqueEmail() }, { ttlS: 300 });
    h.clock.advance(10 * 60_000);
    await expectRefused(
      h,
      await exchange(h, { subject_token: token, nonce }),
      token,
      /acme: expired/,
    );
  });

  it("refuses a token issued in the future", async () => {
    const h = await harnessWithProvider();
    const nonce = newNonce();
    const token = await idToken(
      h,
      { nonce, email: uniqueEmail() },
      { iatMs: h.clock.now() + 60 * 60_000 },
    );
    await expectRefused(
      h,
      await exchange(h, { subject_token: token, nonce }),
      token,
      /acme: issued_in_future/,
    );
  });

  it("accepts a nonce once: a replayed token is refused, also when sent with the nonce's hash", async () => {
    const h = await harnessWithProvider();
    const nonce = newNonce();
    const token = await idToken(h, { nonce, email: uniqueEmail() });
    expect((await exchange(h, { subject_token: token, nonce })).status).toBe(200);
    await expectRefused(h, await exchange(h, { subject_token: token, nonce }), token, /replay/);

    // Apple's SDK puts SHA-256(nonce) in the token: the raw nonce and the hash are two
    // spellings of one nonce, and the second use is refused whichever is sent.
    const raw = newNonce();
    const hashed = await idToken(h, { nonce: await sha256Hex(raw), email: uniqueEmail() });
    expect((await exchange(h, { subject_token: hashed, nonce: raw })).status).toBe(200);
    await expectRefused(
      h,
      await exchange(h, { subject_token: hashed, nonce: await sha256Hex(raw) }),
      hashed,
      /replay/,
    );
  });

  it("a nonce stays spent while its token is still accepted: up to 60 s past exp", async () => {
    const h = await harnessWithProvider();
    const nonce = newNonce();
    const token = await idToken(h, { nonce, email: uniqueEmail() }, { ttlS: 300 });
    h.clock.advance(300_000 + 10_000);
    expect((await exchange(h, { subject_token: token, nonce })).status).toBe(200);
    h.clock.advance(20_000);
    await expectRefused(h, await exchange(h, { subject_token: token, nonce }), token, /replay/);
  });

  it("accepts the nonce's lowercase SHA-256 hex in the token (Apple's iOS SDK)", async () => {
    const h = await harnessWithProvider();
    const raw = newNonce();
    const token = await idToken(h, { nonce: await sha256Hex(raw), email: uniqueEmail() });
    const res = await exchange(h, { subject_token: token, nonce: raw });
    expect(res.status).toBe(200);
  });

  it("refuses a wrong nonce and a token without one", async () => {
    const h = await harnessWithProvider();
    const token = await idToken(h, { nonce: newNonce(), email: uniqueEmail() });
    await expectRefused(
      h,
      await exchange(h, { subject_token: token, nonce: newNonce() }),
      token,
      /acme: nonce_mismatch/,
    );
    const bare = await idToken(h, { email: uniqueEmail() });
    await expectRefused(
      h,
      await exchange(h, { subject_token: bare, nonce: newNonce() }),
      bare,
      /acme: nonce_missing/,
    );
  });

  it("refuses an unknown issuer and a subject_token that is not a JWT", async () => {
    const h = await harnessWithProvider();
    const nonce = newNonce();
    const token = await idToken(h, { nonce, email: uniqueEmail(), iss: "https://idp.invalid" });
    await expectRefused(
      h,
      await exchange(h, { subject_token: token, nonce }),
      token,
      /unknown_issuer/,
    );
    const garbage = "not-a-jwt.at-all";
    await expectRefused(
      h,
      await exchange(h, { subject_token: garbage, nonce }),
      garbage,
      /malformed/,
    );
  });

  it("refuses a token signed by another key under the provider's kid", async () => {
    const h = await harnessWithProvider();
    const otherKey = await generateSigningJwk("RS256", upstream.privateJwk.kid);
    const nonce = newNonce();
    const token = await idToken(h, { nonce, email: uniqueEmail() }, { jwk: otherKey });
    await expectRefused(
      h,
      await exchange(h, { subject_token: token, nonce }),
      token,
      /acme: bad_signature/,
    );
  });

  it('refuses an unsigned token (alg "none")', async () => {
    const h = await harnessWithProvider();
    const nonce = newNonce();
    const claims = { nonce, email: uniqueEmail(), email_verified: true, sub: "unsigned" };
    const token = await upstream.mintIdToken(claims, { now: h.clock.now(), unsigned: true });
    await expectRefused(
      h,
      await exchange(h, { subject_token: token, nonce }),
      token,
      /acme: (algorithm_not_allowed|malformed)/,
    );
    // Also with the provider's kid and an empty signature, as an attacker would send it.
    const forged = await upstream.mintIdToken(claims, {
      now: h.clock.now(),
      unsigned: true,
      header: { kid: upstream.privateJwk.kid },
    });
    await expectRefused(
      h,
      await exchange(h, { subject_token: forged, nonce }),
      forged,
      /acme: (algorithm_not_allowed|malformed)/,
    );
  });

  it("answers account_exists for an existing account unless both sides verified the email", async () => {
    const h = await harnessWithProvider();
    const { email, tokens } = await signup(h);
    // The provider has not verified the address: no link.
    const unverified = await exchange(h, {
      subject_token: await idToken(h, { nonce: "n-unverified", email, email_verified: false }),
      nonce: "n-unverified",
    });
    expect(await errorOf(unverified)).toMatchObject({ status: 409, error: "account_exists" });
    // The provider has, Tessera has not: still no link.
    const oneSided = await exchange(h, {
      subject_token: await idToken(h, { nonce: "n-one-sided", email }),
      nonce: "n-one-sided",
    });
    expect(await errorOf(oneSided)).toMatchObject({ status: 409, error: "account_exists" });
    expect(await identitiesOf(h, tokens.access_token)).toEqual([]);

    // Both sides verified: the identity is linked to the existing account.
    await markEmailVerified(h.db, { userId: tokens.user?.id as string, email, now: h.clock.now() });
    const linked = await signInUpstream(h, { email, sub: "acme-linked" });
    expect(linked.user.id).toBe(tokens.user?.id);
    const types = await eventTypes(h, linked.access_token);
    expect(types).toEqual(expect.arrayContaining(["identity_linked", "upstream_sign_in"]));
    // The password sign-up was the one account made.
    expect(types.filter((t) => t === "signup")).toHaveLength(1);
    // Apple sends email_verified as the string "true".
    const again = await signInUpstream(h, { email, sub: "acme-linked", email_verified: "true" });
    expect(again.user.id).toBe(tokens.user?.id);
  });

  it("pre-hijacking: proving the inbox with an emailed code unlinks identities the provider never verified", async () => {
    const h = await harnessWithProvider();
    const email = uniqueEmail("hijack");
    // Someone signs in with a provider that did not verify an address they do not own.
    const squatter = await signInUpstream(h, { email, email_verified: false, sub: "squatter" });
    expect(squatter.user).toMatchObject({ email, email_verified: false });
    // The address's owner signs in with an emailed code.
    expect((await h.request("/v1/otp/send", json({ email }))).status).toBe(202);
    const outbox = (await (await h.request("/dev/outbox")).json()) as {
      messages: Array<{ to: string; code?: string }>;
    };
    const code = outbox.messages.filter((m) => m.to === email).at(-1)?.code as string;
    const owner = await h.request("/v1/otp/verify", json({ email, code }));
    expect(owner.status).toBe(200);
    const ownerBody = (await owner.json()) as ExchangeBody;
    expect(ownerBody.user).toMatchObject({ id: squatter.user.id, email_verified: true });
    // The squatter's identity is no way in any more, and the session it opened has ended.
    expect(await identitiesOf(h, ownerBody.access_token)).toEqual([]);
    expect((await refresh(h, squatter.refresh_token)).status).toBe(400);
    const nonce = newNonce();
    const again = await exchange(h, {
      subject_token: await idToken(h, { nonce, email, email_verified: false, sub: "squatter" }),
      nonce,
    });
    expect(await errorOf(again)).toMatchObject({ status: 409, error: "account_exists" });
    expect(await eventTypes(h, ownerBody.access_token)).toContain("identity_unlinked");
  });

  it("answers invalid_request for missing or unsupported parameters", async () => {
    const h = await harnessWithProvider();
    const nonce = newNonce();
    const token = await idToken(h, { nonce, email: uniqueEmail() });
    const missing = await h.request("/oauth/token", form({ grant_type: TOKEN_EXCHANGE_GRANT }));
    const body = (await missing.json()) as { error: string; issues: Array<{ path: string }> };
    expect(missing.status).toBe(400);
    expect(body.error).toBe("invalid_request");
    expect(body.issues.map((i) => i.path)).toEqual([
      "subject_token",
      "subject_token_type",
      "nonce",
    ]);

    const noNonce = await exchange(h, { subject_token: token });
    expect(await errorOf(noNonce)).toMatchObject({ status: 400, error: "invalid_request" });

    const accessType = await exchange(h, {
      subject_token: token,
      nonce,
      subject_token_type: ACCESS_TOKEN,
    });
    expect(await errorOf(accessType)).toMatchObject({ status: 400, error: "invalid_request" });

    const actor = await exchange(h, {
      subject_token: token,
      nonce,
      actor_token: token,
      actor_token_type: ID_TOKEN,
    });
    expect(await errorOf(actor)).toMatchObject({
      status: 400,
      error: "invalid_request",
      error_description: "actor_token is not supported",
    });
    const refreshType = await exchange(h, {
      subject_token: token,
      nonce,
      requested_token_type: "urn:ietf:params:oauth:token-type:refresh_token",
    });
    expect(await errorOf(refreshType)).toMatchObject({ status: 400, error: "invalid_request" });

    // None of these spent the nonce: the well-formed request still works.
    expect((await exchange(h, { subject_token: token, nonce })).status).toBe(200);
  });

  it("binds a registered client's session to it; a client without the grant is refused", async () => {
    const h = await harnessWithProvider();
    const app = await h.registerClient({
      name: "Native App",
      grantTypes: [TOKEN_EXCHANGE_GRANT, "refresh_token"],
      scopes: ["openid", "email"],
      public: true,
    });
    const body = await signInUpstream(h, { email: uniqueEmail() }, { client_id: app.clientId });
    expect(body).toMatchObject({ issued_token_type: ACCESS_TOKEN, scope: "openid email" });
    const { payload } = await verifyWithJwks(h, body.access_token);
    expect(payload.client_id).toBe(app.clientId);
    // Its refresh token works with its client id, and only with it.
    const refreshed = await refresh(h, body.refresh_token, { client_id: app.clientId });
    expect(refreshed.status).toBe(200);
    const rotated = (await refreshed.json()) as TokenBody;
    expect((await verifyWithJwks(h, rotated.access_token)).payload.client_id).toBe(app.clientId);
    expect(await errorOf(await refresh(h, rotated.refresh_token))).toMatchObject({
      status: 400,
      error: "invalid_grant",
    });
    // A scope the client may not have is refused before the token is looked at.
    const nonce = newNonce();
    const scoped = await exchange(h, {
      subject_token: await idToken(h, { nonce, email: uniqueEmail() }),
      nonce,
      client_id: app.clientId,
      scope: "openid admin",
    });
    expect(await errorOf(scoped)).toMatchObject({ status: 400, error: "invalid_scope" });

    const other = await h.registerClient({
      name: "Web",
      grantTypes: ["refresh_token"],
      public: true,
    });
    const refused = await exchange(h, {
      subject_token: await idToken(h, { nonce: "n-other", email: uniqueEmail() }),
      nonce: "n-other",
      client_id: other.clientId,
    });
    expect(await errorOf(refused)).toMatchObject({ status: 400, error: "unauthorized_client" });
  });

  it("gives a client without the refresh grant no refresh token", async () => {
    const h = await harnessWithProvider();
    const app = await h.registerClient({
      name: "Access only",
      grantTypes: [TOKEN_EXCHANGE_GRANT],
      public: true,
    });
    const body = await signInUpstream(h, { email: uniqueEmail() }, { client_id: app.clientId });
    expect(body.refresh_token).toBeUndefined();
    expect(body.refresh_token_expires_in).toBeUndefined();
    expect((await verifyWithJwks(h, body.access_token)).payload.client_id).toBe(app.clientId);
  });
});

describe("GET/DELETE /v1/identities", () => {
  it("lists the caller's identities and never unlinks the last way in", async () => {
    const h = await harnessWithProvider();
    const email = uniqueEmail("idents");
    const body = await signInUpstream(h, { email, sub: "acme-ident" });
    const [identity, ...rest] = await identitiesOf(h, body.access_token);
    expect(rest).toEqual([]);
    expect(identity).toEqual({
      id: expect.any(String),
      provider: "acme",
      kind: "oidc",
      email,
      email_verified: true,
      created_at: new Date(h.clock.now()).toISOString(),
      last_used_at: new Date(h.clock.now()).toISOString(),
    });
    // A later sign-in moves last_used_at.
    h.clock.advance(60_000);
    const later = await signInUpstream(h, { email, sub: "acme-ident" });
    const [used] = await identitiesOf(h, later.access_token);
    expect(used?.last_used_at).toBe(new Date(h.clock.now()).toISOString());
    expect(used?.created_at).toBe(identity?.created_at);

    // No password and no other identity: this is the account's last way in.
    const last = await h.request(
      `/v1/identities/${identity?.id}`,
      bearer(later.access_token, { method: "DELETE" }),
    );
    expect(await errorOf(last)).toMatchObject({ status: 409, error: "last_identity" });

    // Someone else's identity and an unknown id are the same 404.
    const stranger = await signup(h);
    const foreign = await h.request(
      `/v1/identities/${identity?.id}`,
      bearer(stranger.tokens.access_token, { method: "DELETE" }),
    );
    expect(await errorOf(foreign)).toMatchObject({ status: 404, error: "not_found" });
    const unknown = await h.request(
      "/v1/identities/no-such-identity",
      bearer(later.access_token, { method: "DELETE" }),
    );
    expect(await errorOf(unknown)).toMatchObject({ status: 404, error: "not_found" });
    expect(await identitiesOf(h, stranger.tokens.access_token)).toEqual([]);

    // Without a token: 401.
    expect((await h.request("/v1/identities")).status).toBe(401);

    // A deleted provider keeps its identities, without a kind.
    await deleteProvider(h.db, "acme");
    const [orphan] = await identitiesOf(h, later.access_token);
    expect(orphan).toMatchObject({ id: identity?.id, provider: "acme", kind: null });
  });

  it("unlinks a linked identity of a password account", async () => {
    const h = await harnessWithProvider();
    const { email, tokens } = await signup(h);
    await markEmailVerified(h.db, { userId: tokens.user?.id as string, email, now: h.clock.now() });
    const linked = await signInUpstream(h, { email, sub: "acme-unlink" });
    expect(linked.user.id).toBe(tokens.user?.id);
    const [identity] = await identitiesOf(h, tokens.access_token);
    const res = await h.request(
      `/v1/identities/${identity?.id}`,
      bearer(tokens.access_token, { method: "DELETE" }),
    );
    expect(res.status).toBe(204);
    expect(await identitiesOf(h, tokens.access_token)).toEqual([]);
    expect(await eventTypes(h, tokens.access_token)).toContain("identity_unlinked");
    // Twice: nothing left to unlink.
    const twice = await h.request(
      `/v1/identities/${identity?.id}`,
      bearer(tokens.access_token, { method: "DELETE" }),
    );
    expect(twice.status).toBe(404);
  });
});
