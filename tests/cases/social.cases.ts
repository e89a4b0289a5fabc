import { eq } from "drizzle-orm";
import { createLocalJWKSet, decodeJwt, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { identities } from "../../src/db/schema.ts";
import type { UpstreamProvider } from "../../src/providers/provider.ts";
import {
  addProvider,
  deleteProvider,
  type NewProvider,
} from "../../src/providers/provider-store.ts";
import { deriveKeys } from "../../src/secrets/derive-keys.ts";
import { markEmailVerified } from "../../src/users/users.ts";
import { openHarness } from "../harness/open.ts";
import { Browser, type Landing, type Page, pageText } from "../harness/rp-browser.ts";
import type { Harness, HarnessFactory } from "../harness/types.ts";
import {
  generateSigningJwk,
  type SigningJwk,
  s256,
  sha256Hex,
  signIdToken,
} from "../upstream/id-token.ts";
import {
  appleTokenRequests,
  forgetRequests,
  opEvents,
  receivedRequests,
  setGithubUser,
  setOpAccount,
  type UpstreamsInfo,
} from "../upstream/protocol.ts";
import {
  basic,
  bearer,
  errorOf,
  form,
  login,
  PASSWORD,
  refresh,
  signup,
  uniqueEmail,
} from "./helpers.ts";

/**
 * Social sign-in (docs/design/upstream.md) against real upstream servers, through `h.request`
 * on Node and in workerd: the hosted browser leg driven over HTTP by a cookie-jar browser that
 * visits Tessera (the harness) and the upstream's own pages (real HTTP to the loopback
 * servers of tests/upstream/: oidc-provider, the Apple-like and the GitHub-like server), the
 * linking rules, the native token exchange (RFC 8693) with id_tokens minted from the
 * upstreams' own private keys, and `/v1/identities`.
 *
 * `upstreams()` gives the servers' URLs and keys: started by the Node test file, or provided to
 * workerd by tests/worker/upstream.global-setup.ts.
 */

const REDIRECT = "https://app.example/cb";
/** The helpers' password `login` (tests name their OP logins `login`). */
const passwordLogin = login;
const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

type Which = "acme" | "google" | "microsoft" | "apple" | "github";

/** What `providers add` would be given for each upstream server. */
function providerInput(u: UpstreamsInfo, which: Which): NewProvider {
  switch (which) {
    case "acme":
      return {
        name: "acme",
        kind: "oidc",
        issuer: u.op.issuer,
        clientIds: [u.op.client.clientId, u.op.otherClient.clientId],
        secret: u.op.client.clientSecret,
        displayName: "Acme SSO",
      };
    case "google":
      // The google preset pointed at the OP with --issuer.
      return {
        name: "google",
        kind: "google",
        issuer: u.op.issuer,
        clientIds: [u.op.client.clientId, u.op.otherClient.clientId],
        secret: u.op.client.clientSecret,
      };
    case "microsoft":
      return {
        name: "microsoft",
        kind: "microsoft",
        issuer: u.microsoft.commonIssuer,
        tenant: "common",
        clientIds: [u.microsoft.client.clientId],
        secret: u.microsoft.client.clientSecret,
      };
    case "apple":
      return {
        name: "apple",
        kind: "apple",
        issuer: u.apple.issuer,
        clientIds: [u.apple.clientId, u.apple.bundleId],
        teamId: u.apple.teamId,
        keyId: u.apple.keyId,
        secret: u.apple.privateKeyPem,
      };
    case "github":
      return {
        name: "github",
        kind: "github",
        issuer: u.github.issuer,
        apiUrl: u.github.apiUrl,
        clientIds: [u.github.client.clientId],
        secret: u.github.client.clientSecret,
      };
  }
}

/** Adds a provider as the operator CLI does (the domain function, the app's secret key). */
async function addUpstream(
  h: Harness,
  u: UpstreamsInfo,
  which: Which,
  overrides: Partial<NewProvider> = {},
): Promise<UpstreamProvider> {
  const { providerSecretKey } = await deriveKeys(h.config.secret as string);
  return addProvider(
    h.db,
    { ...providerInput(u, which), ...overrides },
    { secretKey: providerSecretKey, now: h.clock.now() },
  );
}

type App = { clientId: string; clientSecret: string };

/** The client app the person signs in to (confidential; first-party: no consent page). */
async function registerApp(h: Harness, firstParty = true): Promise<App> {
  const { clientId, clientSecret } = await h.registerClient({
    name: "Example App",
    grantTypes: ["authorization_code", "refresh_token"],
    redirectUris: [REDIRECT],
    public: false,
    firstParty,
  });
  return { clientId, clientSecret: clientSecret as string };
}

/** A complete authorization request of `app`: the URL, its parameters and PKCE verifier. */
async function authorizeRequest(h: Harness, app: App) {
  const verifier = `v-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const params = {
    response_type: "code",
    client_id: app.clientId,
    redirect_uri: REDIRECT,
    scope: "openid email",
    state: `st-${crypto.randomUUID()}`,
    nonce: `n-${crypto.randomUUID()}`,
    code_challenge: await s256(verifier),
    code_challenge_method: "S256",
  };
  const url = new URL("/oauth/authorize", h.config.issuer);
  url.search = new URLSearchParams(params).toString();
  return { url: url.toString(), params, verifier };
}

/** A browser that visits Tessera (through the harness) and every upstream server (real HTTP). */
function browserFor(h: Harness, u: UpstreamsInfo): Browser {
  const browser = new Browser({
    [new URL(h.config.issuer).origin]: (url, init) => h.request(url, init),
  });
  for (const origin of [u.op.control, u.microsoft.control, u.apple.control, u.github.control]) {
    browser.allow(origin);
  }
  return browser;
}

const onOrigin = (landing: Landing, origin: string) =>
  landing.kind === "page" && new URL(landing.url).origin === new URL(origin).origin;

/** The "Continue with …" forms of a sign-in page: provider name → button label. */
function providerButtons(page: Landing): Record<string, string> {
  if (page.kind !== "page") return {};
  const buttons: Record<string, string> = {};
  for (const m of page.html.matchAll(
    /<form\b[^>]*action="\/authorize\/upstream"[^>]*>([\s\S]*?)<\/form>/g,
  )) {
    const button =
      /<button\b[^>]*name="provider"[^>]*value="([^"]*)"[^>]*>([\s\S]*?)<\/button>/.exec(
        m[1] as string,
      );
    if (button) {
      buttons[button[1] as string] = (button[2] as string).replace(/<[^>]+>/g, "").trim();
    }
  }
  return buttons;
}

/** Clicks "Continue with …" for `provider` on Tessera's sign-in page. */
async function continueWith(browser: Browser, page: Landing, provider: string) {
  expect(page.kind === "page" && page.status, page.kind === "page" ? page.html : "").toBe(200);
  expect(Object.keys(providerButtons(page))).toContain(provider);
  return browser.submit(page, { provider }, (f) => f.action === "/authorize/upstream");
}

/**
 * Answers the upstream's pages until the browser is back on Tessera (a page) or has left for
 * the client: `answer` gives each upstream page's form values.
 */
async function throughUpstream(
  browser: Browser,
  landing: Landing,
  origin: string,
  answer: (page: Page) => Record<string, string>,
): Promise<Landing> {
  let current = landing;
  for (let step = 0; onOrigin(current, origin); step++) {
    if (step > 5) throw new Error(`stuck at the upstream: ${JSON.stringify(current)}`);
    const page = current as Page;
    current = await browser.submit(page, answer(page));
  }
  return current;
}

/** What to fill in on each upstream page. */
type Answer = (page: Page) => Record<string, string>;

/** The OP's dev pages: its sign-in (any password) as `login`, then its consent. */
const opPages =
  (login: string): Answer =>
  (page) =>
    /name="login"/.test(page.html)
      ? { login, password: "any password" }
      : ({} as Record<string, string>);

/** The Apple-like pages: the Apple ID, then the form post back to Tessera. */
const applePages =
  (email: string): Answer =>
  (page) =>
    /name="account"/.test(page.html) ? { account: email } : ({} as Record<string, string>);

/** The GitHub-like page: the username. */
const githubPages =
  (login: string): Answer =>
  () => ({ login });

/** Tessera's consent page, when the app is third-party. */
async function consentIfAsked(browser: Browser, landing: Landing): Promise<Landing> {
  if (landing.kind === "page" && /Allow .+ to access your account\?/.test(pageText(landing))) {
    return browser.submit(landing, { decision: "allow" }, "/authorize/consent");
  }
  return landing;
}

/** What Tessera logged about upstream legs (why one failed), for assertion messages. */
const upstreamLog = (h: Harness) =>
  h.logs.filter((line) => /upstream|provider/i.test(line)).join("\n");

/** The 303 back to the app with a code, the request's state and Tessera's iss. */
function codeFrom(h: Harness, landing: Landing, state: string): string {
  expect(
    landing.kind,
    landing.kind === "page"
      ? `${landing.status} ${pageText(landing)}\nlog:\n${upstreamLog(h)}`
      : "",
  ).toBe("left");
  if (landing.kind !== "left") throw new Error("no redirect to the app");
  expect(landing.status).toBe(303);
  expect(`${landing.url.origin}${landing.url.pathname}`).toBe(REDIRECT);
  expect(landing.url.searchParams.get("error")).toBeNull();
  expect(landing.url.searchParams.get("state")).toBe(state);
  expect(landing.url.searchParams.get("iss")).toBe(h.config.issuer);
  const code = landing.url.searchParams.get("code");
  if (!code) throw new Error(`no code: ${landing.url}`);
  return code;
}

type Tokens = { access_token: string; id_token: string; refresh_token?: string };

/** The app exchanges the code (client_secret_basic) and verifies the ID token with the JWKS. */
async function redeem(h: Harness, app: App, code: string, verifier: string, nonce: string) {
  const res = await h.request("/oauth/token", {
    ...form({
      grant_type: "authorization_code",
      code,
      code_verifier: verifier,
      redirect_uri: REDIRECT,
    }),
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Authorization: basic(app.clientId, app.clientSecret),
    },
  });
  expect(res.status).toBe(200);
  const tokens = (await res.json()) as Tokens;
  const jwks = (await (await h.request("/.well-known/jwks.json")).json()) as { keys: [] };
  const { payload } = await jwtVerify(tokens.id_token, createLocalJWKSet(jwks), {
    issuer: h.config.issuer,
    audience: app.clientId,
    currentDate: new Date(h.clock.now()),
  });
  expect(payload.nonce).toBe(nonce);
  return { tokens, sub: payload.sub as string };
}

type Me = { id: string; email: string; email_verified: boolean };

async function me(h: Harness, accessToken: string): Promise<Me> {
  const res = await h.request("/v1/me", bearer(accessToken));
  expect(res.status).toBe(200);
  return (await res.json()) as Me;
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

async function listIdentities(h: Harness, accessToken: string): Promise<IdentityView[]> {
  const res = await h.request("/v1/identities", bearer(accessToken));
  expect(res.status).toBe(200);
  return ((await res.json()) as { identities: IdentityView[] }).identities;
}

async function eventTypes(h: Harness, accessToken: string): Promise<string[]> {
  const res = await h.request("/v1/events", bearer(accessToken));
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: Array<{ type: string }> }).events.map((e) => e.type);
}

/** A Tessera account whose address is verified (as the emailed link would). */
async function verifiedAccount(h: Harness, email = uniqueEmail("linked")) {
  const account = await signup(h, email);
  await markEmailVerified(h.db, {
    userId: account.tokens.user?.id as string,
    email,
    now: h.clock.now(),
  });
  return { ...account, id: account.tokens.user?.id as string };
}

/**
 * The whole hosted flow for a new browser: the app's authorization request → Tessera's
 * sign-in page → "Continue with <provider>" → the upstream's pages (`answer`) → back to
 * Tessera (consent if asked) → where the browser ended.
 */
async function hostedSignIn(
  h: Harness,
  u: UpstreamsInfo,
  input: {
    app: App;
    provider: string;
    origin: string;
    answer: (page: Page) => Record<string, string>;
    browser?: Browser;
  },
) {
  const browser = input.browser ?? browserFor(h, u);
  const request = await authorizeRequest(h, input.app);
  const signInPage = await browser.navigate(request.url);
  const atUpstream = await continueWith(browser, signInPage, input.provider);
  expect(onOrigin(atUpstream, input.origin), JSON.stringify(atUpstream).slice(0, 2000)).toBe(true);
  const back = await throughUpstream(browser, atUpstream, input.origin, input.answer);
  const landing = await consentIfAsked(browser, back);
  return { browser, request, landing };
}

/** `hostedSignIn` that must end with a code; the app redeems it. */
async function hostedSignInOk(
  h: Harness,
  u: UpstreamsInfo,
  input: Parameters<typeof hostedSignIn>[2],
) {
  const { browser, request, landing } = await hostedSignIn(h, u, input);
  const code = codeFrom(h, landing, request.params.state);
  const redeemed = await redeem(h, input.app, code, request.verifier, request.params.nonce);
  return { browser, request, ...redeemed };
}

/**
 * Runs a leg until the upstream sends the browser to Tessera's callback, and stops there:
 * the callback URL (code, state, iss) and the browser holding the `tessera_upstream` cookie.
 */
async function heldCallback(h: Harness, u: UpstreamsInfo, which: "acme" | "github" = "acme") {
  await addUpstream(h, u, which);
  const app = await registerApp(h);
  const browser = browserFor(h, u);
  browser.hold = (url) => url.pathname === `/oauth/callback/${which}`;
  const request = await authorizeRequest(h, app);
  const atUpstream = await continueWith(browser, await browser.navigate(request.url), which);
  const held =
    which === "acme"
      ? await throughUpstream(
          browser,
          atUpstream,
          u.op.control,
          opPages(`held-${crypto.randomUUID()}`),
        )
      : await throughUpstream(
          browser,
          atUpstream,
          u.github.control,
          githubPages(`held-${crypto.randomUUID().slice(0, 8)}`),
        );
  if (held.kind !== "left") throw new Error("the callback was not reached");
  browser.hold = undefined;
  return { browser, callback: held.url };
}

/** The sign-in page with a notice (no code for the app). */
function expectNotice(landing: Landing, status: number, text: RegExp) {
  expect(landing.kind, JSON.stringify(landing).slice(0, 500)).toBe("page");
  if (landing.kind !== "page") return;
  expect(landing.status).toBe(status);
  expect(landing.headers.get("Location")).toBeNull();
  expect(new URL(landing.url).origin).not.toBe(new URL(REDIRECT).origin);
  expect(pageText(landing)).toMatch(text);
}

// ---- native token exchange ---------------------------------------------------------------

type ExchangeBody = Tokens & {
  token_type: string;
  expires_in: number;
  issued_token_type: string;
  user: { id: string; email: string; email_verified: boolean };
};

function exchange(
  h: Harness,
  input: { token: string; nonce?: string; subjectTokenType?: string; clientId?: string },
) {
  return h.request(
    "/oauth/token",
    form({
      grant_type: TOKEN_EXCHANGE,
      subject_token_type: input.subjectTokenType ?? ID_TOKEN_TYPE,
      subject_token: input.token,
      ...(input.nonce !== undefined ? { nonce: input.nonce } : {}),
      ...(input.clientId ? { client_id: input.clientId } : {}),
    }),
  );
}

async function exchangeOk(h: Harness, input: Parameters<typeof exchange>[1]) {
  const res = await exchange(h, input);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body as ExchangeBody;
}

async function expectInvalidGrant(res: Response) {
  const error = await errorOf(res);
  expect(error, JSON.stringify(error)).toMatchObject({ status: 400, error: "invalid_grant" });
  // One generic message: the reason is logged, never told.
  return error;
}

/** An id_token of the OP as a native SDK would get it (the test clock's time). */
function opToken(
  h: Harness,
  u: UpstreamsInfo,
  claims: Record<string, unknown>,
  jwk: SigningJwk = u.op.privateJwk,
) {
  return signIdToken(
    jwk,
    {
      iss: u.op.issuer,
      aud: u.op.client.clientId,
      sub: `op-${crypto.randomUUID()}`,
      email: uniqueEmail("native"),
      email_verified: true,
      ...claims,
    },
    { now: h.clock.now() },
  );
}

export function socialCases(createHarness: HarnessFactory, upstreams: () => UpstreamsInfo) {
  describe("hosted sign-in with a real OpenID Provider (oidc-provider)", () => {
    it("the sign-in page offers 'Continue with …' for each provider with a client secret, not for native-only ones", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      await addUpstream(h, u, "github");
      await addUpstream(h, u, "apple");
      // Native-only (no secret): exchange only, no button.
      await addUpstream(h, u, "google", { secret: undefined });
      const app = await registerApp(h);
      const page = await browserFor(h, u).navigate((await authorizeRequest(h, app)).url);
      expect(page.kind === "page" && page.status).toBe(200);
      expect(providerButtons(page)).toEqual({
        acme: "Continue with Acme SSO",
        apple: "Continue with Apple",
        github: "Continue with GitHub",
      });
    });

    it("a new person: sign-in page → the OP's login and consent pages → callback → code to the app; the ID token's sub is a new account with the OP's verified address", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const app = await registerApp(h);
      const login = `ada-${crypto.randomUUID()}`;
      const email = uniqueEmail("op");
      await setOpAccount(u.op.control, login, { email, email_verified: true, name: "Ada" });
      const before = (await opEvents(u.op.control)).length;

      const { sub, tokens, request, browser } = await hostedSignInOk(h, u, {
        app,
        provider: "acme",
        origin: u.op.control,
        answer: opPages(login),
      });
      // The OP's own pages were used: its login and consent forms.
      expect(
        browser.history.filter((r) => r.startsWith(`POST ${u.op.control}/interaction/`)),
      ).toHaveLength(2);

      const account = await me(h, tokens.access_token);
      expect(account).toMatchObject({ id: sub, email, email_verified: true });
      const ids = await listIdentities(h, tokens.access_token);
      expect(ids).toEqual([
        expect.objectContaining({ provider: "acme", kind: "oidc", email, email_verified: true }),
      ]);
      const events = await eventTypes(h, tokens.access_token);
      expect(events).toContain("identity_linked");
      expect(events).toContain("upstream_sign_in");

      // What Tessera sent the OP: code flow, PKCE S256, state, nonce, the callback; then the
      // code with the verifier, authenticated with client_secret_basic.
      const seen = (await opEvents(u.op.control)).slice(before);
      const authorization = seen.find((e) => e.type === "authorization");
      const token = seen.find((e) => e.type === "token");
      expect(authorization?.type === "authorization" && authorization.params).toMatchObject({
        client_id: u.op.client.clientId,
        response_type: "code",
        redirect_uri: `${h.config.issuer}/oauth/callback/acme`,
        scope: "openid email profile",
        code_challenge_method: "S256",
      });
      if (authorization?.type !== "authorization" || token?.type !== "token") {
        throw new Error(`the OP saw no authorization and token request: ${JSON.stringify(seen)}`);
      }
      expect(authorization.params.state).toMatch(/^[A-Za-z0-9_-]{43,}$/);
      expect(authorization.params.nonce).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      // Not the app's own values: the upstream leg has its own.
      expect(authorization.params.state).not.toBe(request.params.state);
      expect(authorization.params.nonce).not.toBe(request.params.nonce);
      expect(token).toMatchObject({
        clientId: u.op.client.clientId,
        authMethod: "client_secret_basic",
      });
      expect(await s256(token.params.code_verifier ?? "")).toBe(
        authorization.params.code_challenge,
      );
      expect(seen.filter((e) => e.type === "error")).toEqual([]);
    });

    it("the same OP account signs in to the same Tessera account again (a new browser)", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const app = await registerApp(h);
      const login = `grace-${crypto.randomUUID()}`;
      const input = { app, provider: "acme", origin: u.op.control, answer: opPages(login) };
      const first = await hostedSignInOk(h, u, input);
      const second = await hostedSignInOk(h, u, input);
      expect(second.sub).toBe(first.sub);
      expect(await listIdentities(h, second.tokens.access_token)).toHaveLength(1);
    });

    it("a third-party app: Tessera's consent page comes after the upstream sign-in, then the code", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const app = await registerApp(h, false);
      const browser = browserFor(h, u);
      const request = await authorizeRequest(h, app);
      const atOp = await continueWith(browser, await browser.navigate(request.url), "acme");
      const back = await throughUpstream(
        browser,
        atOp,
        u.op.control,
        opPages(`tp-${crypto.randomUUID()}`),
      );
      expect(back.kind === "page" && pageText(back)).toMatch(
        /Allow Example App to access your account\?/,
      );
      const done = await browser.submit(back, { decision: "allow" }, "/authorize/consent");
      await redeem(
        h,
        app,
        codeFrom(h, done, request.params.state),
        request.verifier,
        request.params.nonce,
      );
    });

    it("cancelled at the OP: back on Tessera's sign-in page saying so; no code for the app", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const app = await registerApp(h);
      const browser = browserFor(h, u);
      const request = await authorizeRequest(h, app);
      const atOp = await continueWith(browser, await browser.navigate(request.url), "acme");
      if (atOp.kind !== "page") throw new Error("not on the OP's page");
      // The OP's "[ Cancel ]" link: error=access_denied to the callback.
      const abort = /href="([^"]+\/abort)"/.exec(atOp.html)?.[1];
      if (!abort) throw new Error(`no cancel link:\n${atOp.html}`);
      const back = await browser.navigate(new URL(abort, atOp.url).toString());
      expectNotice(back, 400, /Sign-in with Acme SSO was cancelled/);
      expect(providerButtons(back)).toHaveProperty("acme");
    });

    it("login CSRF: the callback opened in another browser is refused (no code); a callback is used once", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const app = await registerApp(h);
      const browser = browserFor(h, u);
      browser.hold = (url) => url.pathname === "/oauth/callback/acme";
      const request = await authorizeRequest(h, app);
      const atOp = await continueWith(browser, await browser.navigate(request.url), "acme");
      const held = await throughUpstream(
        browser,
        atOp,
        u.op.control,
        opPages(`csrf-${crypto.randomUUID()}`),
      );
      if (held.kind !== "left") throw new Error("the callback was not reached");
      const callback = held.url.toString();
      expect(held.url.searchParams.get("iss")).toBe(u.op.issuer);

      // An attacker's browser (no tessera_upstream cookie) with this code and state.
      const other = browserFor(h, u);
      const refused = await other.navigate(callback);
      expect(refused.kind).toBe("page");
      expect(refused.kind === "page" && refused.status).toBe(400);
      expect(other.cookies(h.config.issuer).map((c) => c.name)).not.toContain("tessera_session");

      // The browser that started the leg: its callback goes through at most once.
      browser.hold = undefined;
      const first = await browser.navigate(callback);
      const replay = await browser.navigate(callback);
      expect(replay.kind, "a replayed callback leads nowhere").toBe("page");
      expect(replay.kind === "page" && replay.status).toBe(400);
      // Whether the refused attempt spent the leg is the server's choice; either way no
      // second code comes from it.
      if (first.kind === "left") codeFrom(h, first, request.params.state);
      else expect(first.status).toBe(400);
    });

    it("mix-up defence (RFC 9207): a callback whose iss is not the OP's is refused, no code", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      const { browser, callback } = await heldCallback(h, u);
      callback.searchParams.set("iss", "https://evil.example");
      const landing = await browser.navigate(callback.toString());
      expect(landing.kind, JSON.stringify(landing).slice(0, 300)).toBe("page");
      expect(landing.kind === "page" && landing.status).toBeGreaterThanOrEqual(400);
    });

    it("a leg older than 10 minutes (test clock) is refused at the callback, no code", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      const { browser, callback } = await heldCallback(h, u);
      h.clock.advance(10 * 60_000 + 1000);
      const landing = await browser.navigate(callback.toString());
      expect(landing.kind, JSON.stringify(landing).slice(0, 300)).toBe("page");
      expect(landing.kind === "page" && landing.status).toBeGreaterThanOrEqual(400);
    });

    it("Microsoft-shaped OP (tenant 'common', issuer template {tenantid}): the tenant's iss in the response and ID token is accepted", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "microsoft");
      const app = await registerApp(h);
      const email = uniqueEmail("ms");
      const login = `ms-${crypto.randomUUID()}`;
      // Microsoft sends no email_verified for most accounts; this tenant does.
      await setOpAccount(u.microsoft.control, login, { email, email_verified: true });
      const { tokens } = await hostedSignInOk(h, u, {
        app,
        provider: "microsoft",
        origin: u.microsoft.control,
        answer: opPages(login),
      });
      expect(await listIdentities(h, tokens.access_token)).toEqual([
        expect.objectContaining({ provider: "microsoft", kind: "microsoft", email }),
      ]);
    });

    it("the google preset pointed at the OP with --issuer: 'Continue with Google', the same flow", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "google");
      const app = await registerApp(h);
      const { tokens } = await hostedSignInOk(h, u, {
        app,
        provider: "google",
        origin: u.op.control,
        answer: opPages(`g-${crypto.randomUUID()}`),
      });
      expect((await listIdentities(h, tokens.access_token))[0]).toMatchObject({
        provider: "google",
        kind: "google",
      });
    });
  });

  describe("hosted sign-in with the Apple-like server (form_post, client-secret JWT)", () => {
    it("form_post callback; the server verified the ES256 client secret; the name Apple sends once is stored", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "apple");
      const app = await registerApp(h);
      const email = uniqueEmail("apple");
      await forgetRequests(u.apple.control);
      const before = (await appleTokenRequests(u.apple.control)).length;

      const { browser, tokens, sub } = await hostedSignInOk(h, u, {
        app,
        provider: "apple",
        origin: u.apple.control,
        answer: applePages(email),
      });
      // The callback was Apple's form post, carrying the one-time `user` field.
      const callbackPost = browser.history.find((r) =>
        r.startsWith(`POST ${h.config.issuer}/oauth/callback/apple`),
      );
      expect(callbackPost).toBeDefined();

      const requests = await receivedRequests(u.apple.control);
      const authorize = requests.find((r) => r.method === "GET" && r.path === "/auth/authorize");
      expect(authorize?.query).toMatchObject({
        client_id: u.apple.clientId,
        redirect_uri: `${h.config.issuer}/oauth/callback/apple`,
        response_type: "code",
        response_mode: "form_post",
        code_challenge_method: "S256",
      });
      expect(authorize?.query.scope?.split(" ").sort()).toEqual(["email", "name"]);
      expect(authorize?.query.state).toBeTruthy();
      expect(authorize?.query.nonce).toBeTruthy();
      const token = requests.find((r) => r.path === "/auth/token");
      expect(token?.body).toMatchObject({
        grant_type: "authorization_code",
        client_id: u.apple.clientId,
        redirect_uri: `${h.config.issuer}/oauth/callback/apple`,
      });
      expect(token?.headers.authorization).toBeUndefined();
      expect(await s256(token?.body.code_verifier ?? "")).toBe(authorize?.query.code_challenge);

      const [secret, ...more] = (await appleTokenRequests(u.apple.control)).slice(before);
      expect(more).toEqual([]);
      expect(secret?.refused).toBeUndefined();
      expect(secret?.clientSecretHeader).toMatchObject({ alg: "ES256", kid: u.apple.keyId });
      const claims = secret?.clientSecretClaims as {
        iss: string;
        sub: string;
        aud: string;
        iat: number;
        exp: number;
      };
      expect(claims).toMatchObject({
        iss: u.apple.teamId,
        sub: u.apple.clientId,
        aud: u.apple.issuer,
      });
      expect(claims.exp - claims.iat).toBeGreaterThan(0);
      expect(claims.exp - claims.iat).toBeLessThanOrEqual(300);

      // email_verified came as the string "true".
      expect(await me(h, tokens.access_token)).toMatchObject({
        id: sub,
        email,
        email_verified: true,
      });
      const rows = await h.db.select().from(identities).where(eq(identities.userId, sub));
      expect(rows).toEqual([
        expect.objectContaining({
          provider: "apple",
          email,
          emailVerified: true,
          name: "Ada Lovelace",
        }),
      ]);
    });

    it("the second Apple sign-in (no `user` field this time) reaches the same account and keeps the name", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "apple");
      const app = await registerApp(h);
      const email = uniqueEmail("apple2");
      const input = { app, provider: "apple", origin: u.apple.control, answer: applePages(email) };
      const first = await hostedSignInOk(h, u, input);
      const second = await hostedSignInOk(h, u, input);
      expect(second.sub).toBe(first.sub);
      const rows = await h.db.select().from(identities).where(eq(identities.userId, first.sub));
      expect(rows).toHaveLength(1);
      expect(rows[0]?.name).toBe("Ada Lovelace");
    });
  });

  describe("hosted sign-in with the GitHub-like server (OAuth 2.0, user and emails API)", () => {
    it("the code is exchanged with the client secret and PKCE verifier; /user and /user/emails are read with the token and a User-Agent; the primary verified address signs in", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "github");
      const app = await registerApp(h);
      const login = `octo-${crypto.randomUUID().slice(0, 8)}`;
      const email = uniqueEmail("gh");
      await setGithubUser(u.github.control, {
        login,
        name: "Octo Cat",
        emails: [
          { email: uniqueEmail("gh-secondary"), primary: false, verified: true },
          { email, primary: true, verified: true },
        ],
      });
      await forgetRequests(u.github.control);
      const { tokens, sub } = await hostedSignInOk(h, u, {
        app,
        provider: "github",
        origin: u.github.control,
        answer: githubPages(login),
      });
      expect(await me(h, tokens.access_token)).toMatchObject({
        id: sub,
        email,
        email_verified: true,
      });
      expect(await listIdentities(h, tokens.access_token)).toEqual([
        expect.objectContaining({
          provider: "github",
          kind: "github",
          email,
          email_verified: true,
        }),
      ]);

      const requests = await receivedRequests(u.github.control);
      const authorize = requests.find(
        (r) => r.path === "/login/oauth/authorize" && r.method === "GET",
      );
      expect(authorize?.query).toMatchObject({
        client_id: u.github.client.clientId,
        redirect_uri: `${h.config.issuer}/oauth/callback/github`,
      });
      expect(authorize?.query.state).toBeTruthy();
      const token = requests.find((r) => r.path === "/login/oauth/access_token");
      const credentials = token?.headers.authorization
        ? atob(token.headers.authorization.replace(/^Basic /, ""))
        : `${token?.body.client_id}:${token?.body.client_secret}`;
      expect(credentials).toBe(`${u.github.client.clientId}:${u.github.client.clientSecret}`);
      expect(token?.headers.accept).toContain("application/json");
      expect(authorize?.query.code_challenge_method).toBe("S256");
      expect(await s256(token?.body.code_verifier ?? "")).toBe(authorize?.query.code_challenge);
      for (const path of ["/api/user", "/api/user/emails"]) {
        const call = requests.find((r) => r.path === path);
        expect(call, `${path} was not called`).toBeDefined();
        expect(call?.headers.authorization).toMatch(/^(Bearer|token) gho_/);
        expect(call?.headers["user-agent"]).toBeTruthy();
      }
    });

    it("GitHub's error answer with status 200 (a spent code: bad_verification_code) is a refusal on the sign-in page, not a server error", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      const { browser, callback } = await heldCallback(h, u, "github");
      // Someone spends the code first (GitHub forgets a code at its first use).
      const spent = await fetch(`${u.github.issuer}/login/oauth/access_token`, {
        method: "POST",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({
          client_id: u.github.client.clientId,
          client_secret: u.github.client.clientSecret,
          code: callback.searchParams.get("code") ?? "",
        }),
      });
      expect(await spent.json()).toHaveProperty("error");
      await forgetRequests(u.github.control);
      const landing = await browser.navigate(callback.toString());
      expectNotice(landing, 400, /GitHub|provider/);
      const requests = await receivedRequests(u.github.control);
      expect(requests.map((r) => r.path)).toEqual(["/login/oauth/access_token"]);
    });

    it("a primary address GitHub has not verified, with an account already on it: account_exists on the page", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "github");
      const app = await registerApp(h);
      const existing = await verifiedAccount(h);
      const login = `unverified-${crypto.randomUUID().slice(0, 8)}`;
      await setGithubUser(u.github.control, {
        login,
        emails: [{ email: existing.email, primary: true, verified: false }],
      });
      const { landing } = await hostedSignIn(h, u, {
        app,
        provider: "github",
        origin: u.github.control,
        answer: githubPages(login),
      });
      expectNotice(landing, 409, /An account with .+ already exists/);
      const rows = await h.db.select().from(identities).where(eq(identities.userId, existing.id));
      expect(rows).toEqual([]);
    });

    it("a primary address GitHub has not verified and no account: a new account, its address not verified", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "github");
      const app = await registerApp(h);
      const login = `new-${crypto.randomUUID().slice(0, 8)}`;
      const email = uniqueEmail("gh-unverified");
      await setGithubUser(u.github.control, {
        login,
        emails: [{ email, primary: true, verified: false }],
      });
      const { tokens } = await hostedSignInOk(h, u, {
        app,
        provider: "github",
        origin: u.github.control,
        answer: githubPages(login),
      });
      expect(await me(h, tokens.access_token)).toMatchObject({ email, email_verified: false });
    });
  });

  describe("linking by email (both sides verified) or account_exists", () => {
    it("an account with a verified address + the OP's verified address: linked to that account, its password still works", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const app = await registerApp(h);
      const existing = await verifiedAccount(h);
      const login = `link-${crypto.randomUUID()}`;
      // The OP may spell the address in another case: still the same account.
      await setOpAccount(u.op.control, login, {
        email: existing.email.toUpperCase(),
        email_verified: true,
      });
      const { sub, tokens } = await hostedSignInOk(h, u, {
        app,
        provider: "acme",
        origin: u.op.control,
        answer: opPages(login),
      });
      expect(sub).toBe(existing.id);
      expect(await listIdentities(h, tokens.access_token)).toHaveLength(1);
      expect(await eventTypes(h, tokens.access_token)).toContain("identity_linked");
      expect((await passwordLogin(h, existing.email)).user?.id).toBe(existing.id);
    });

    it("an account whose address is not verified: account_exists on the page (409), nothing linked", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const app = await registerApp(h);
      const existing = await signup(h);
      const login = `nolink-${crypto.randomUUID()}`;
      await setOpAccount(u.op.control, login, { email: existing.email, email_verified: true });
      const { landing } = await hostedSignIn(h, u, {
        app,
        provider: "acme",
        origin: u.op.control,
        answer: opPages(login),
      });
      expectNotice(landing, 409, /An account with .+ already exists/);
      expect(await h.db.select().from(identities)).toEqual([]);
    });

    it("the OP has not verified the address of an existing verified account: account_exists", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const app = await registerApp(h);
      const existing = await verifiedAccount(h);
      const login = `opunverified-${crypto.randomUUID()}`;
      await setOpAccount(u.op.control, login, { email: existing.email, email_verified: false });
      const { landing } = await hostedSignIn(h, u, {
        app,
        provider: "acme",
        origin: u.op.control,
        answer: opPages(login),
      });
      expectNotice(landing, 409, /An account with .+ already exists/);
      expect(await h.db.select().from(identities)).toEqual([]);
    });

    it("no address from the OP and no known identity: refused on the page", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const app = await registerApp(h);
      const login = `noemail-${crypto.randomUUID()}`;
      await setOpAccount(u.op.control, login, { email: null });
      const { landing } = await hostedSignIn(h, u, {
        app,
        provider: "acme",
        origin: u.op.control,
        answer: opPages(login),
      });
      expectNotice(landing, 400, /did not share an email address/i);
    });
  });

  describe("native token exchange (RFC 8693): a provider's id_token + nonce → Tessera tokens", () => {
    it("a valid OP token: 200 with the token response, `user` and issued_token_type; a new account with the verified address and the identity", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const nonce = crypto.randomUUID();
      const email = uniqueEmail("native");
      const body = await exchangeOk(h, {
        token: await opToken(h, u, { nonce, email, sub: "op-native-1" }),
        nonce,
      });
      expect(body).toMatchObject({
        token_type: "Bearer",
        issued_token_type: ACCESS_TOKEN_TYPE,
        user: { email, email_verified: true },
      });
      expect(typeof body.access_token).toBe("string");
      expect(typeof body.refresh_token).toBe("string");
      expect(decodeJwt(body.access_token).sub).toBe(body.user.id);
      // A normal session: its refresh token rotates.
      expect((await refresh(h, body.refresh_token as string)).status).toBe(200);
      expect(await listIdentities(h, body.access_token)).toEqual([
        expect.objectContaining({ provider: "acme", kind: "oidc", email, email_verified: true }),
      ]);
      // The same upstream account with a fresh nonce: the same user.
      const nonce2 = crypto.randomUUID();
      const again = await exchangeOk(h, {
        token: await opToken(h, u, { nonce: nonce2, email, sub: "op-native-1" }),
        nonce: nonce2,
      });
      expect(again.user.id).toBe(body.user.id);
    });

    it("JSON body works as well as a form", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const nonce = crypto.randomUUID();
      const res = await h.request("/oauth/token", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          grant_type: TOKEN_EXCHANGE,
          subject_token_type: ID_TOKEN_TYPE,
          subject_token: await opToken(h, u, { nonce }),
          nonce,
        }),
      });
      expect(res.status).toBe(200);
    });

    it("any of the provider's client ids is accepted as aud (an Android client next to the web one)", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const nonce = crypto.randomUUID();
      await exchangeOk(h, {
        token: await opToken(h, u, { nonce, aud: u.op.otherClient.clientId }),
        nonce,
      });
    });

    it("the nonce as its lowercase SHA-256 hex in the token (Apple's iOS SDK): accepted with the raw nonce", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const nonce = crypto.randomUUID();
      await exchangeOk(h, { token: await opToken(h, u, { nonce: await sha256Hex(nonce) }), nonce });
    });

    it("wrong audience: invalid_grant", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const nonce = crypto.randomUUID();
      await expectInvalidGrant(
        await exchange(h, {
          token: await opToken(h, u, { nonce, aud: "someone-elses-app" }),
          nonce,
        }),
      );
    });

    it("expired (the test clock moved past exp and its 60 s tolerance): invalid_grant", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const nonce = crypto.randomUUID();
      const iat = Math.floor(h.clock.now() / 1000);
      const token = await opToken(h, u, { nonce, iat, exp: iat + 300 });
      h.clock.advance(300_000 + 61_000);
      await expectInvalidGrant(await exchange(h, { token, nonce }));
      // Within the tolerance it was fine.
      const nonce2 = crypto.randomUUID();
      const iat2 = Math.floor(h.clock.now() / 1000);
      const fresh = await opToken(h, u, { nonce: nonce2, iat: iat2, exp: iat2 + 300 });
      h.clock.advance(300_000 + 30_000);
      await exchangeOk(h, { token: fresh, nonce: nonce2 });
    });

    it("a replayed nonce: the second exchange is invalid_grant (same token, or a new token with the same nonce)", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const nonce = crypto.randomUUID();
      const sub = `op-${crypto.randomUUID()}`;
      const token = await opToken(h, u, { nonce, sub });
      await exchangeOk(h, { token, nonce });
      await expectInvalidGrant(await exchange(h, { token, nonce }));
      await expectInvalidGrant(
        await exchange(h, { token: await opToken(h, u, { nonce, sub }), nonce }),
      );
    });

    it("a nonce that is not the token's: invalid_grant", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const nonce = crypto.randomUUID();
      await expectInvalidGrant(
        await exchange(h, { token: await opToken(h, u, { nonce }), nonce: crypto.randomUUID() }),
      );
      // Nor the hex of the hash given as the raw nonce.
      await expectInvalidGrant(
        await exchange(h, { token: await opToken(h, u, { nonce }), nonce: await sha256Hex(nonce) }),
      );
    });

    it("an unknown issuer: invalid_grant", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const nonce = crypto.randomUUID();
      await expectInvalidGrant(
        await exchange(h, {
          token: await opToken(h, u, { nonce, iss: "https://idp.unknown.example" }),
          nonce,
        }),
      );
    });

    it("a token signed by another key: invalid_grant (with the OP's kid, and with a kid the OP does not publish)", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const sameKid = await generateSigningJwk("RS256", u.op.privateJwk.kid);
      const nonce = crypto.randomUUID();
      await expectInvalidGrant(
        await exchange(h, { token: await opToken(h, u, { nonce }, sameKid), nonce }),
      );
      const otherKid = await generateSigningJwk("RS256");
      const nonce2 = crypto.randomUUID();
      await expectInvalidGrant(
        await exchange(h, {
          token: await opToken(h, u, { nonce: nonce2 }, otherKid),
          nonce: nonce2,
        }),
      );
      // The genuine key still works afterwards (no poisoned key cache).
      const nonce3 = crypto.randomUUID();
      await exchangeOk(h, { token: await opToken(h, u, { nonce: nonce3 }), nonce: nonce3 });
    });

    it("an unsigned token (alg none): invalid_grant", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const nonce = crypto.randomUUID();
      const signed = await opToken(h, u, { nonce });
      const [, payload] = signed.split(".");
      const header = btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "");
      await expectInvalidGrant(await exchange(h, { token: `${header}.${payload}.`, nonce }));
    });

    it("email_verified false with an existing account on that address: 409 account_exists, nothing linked", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const existing = await verifiedAccount(h);
      const nonce = crypto.randomUUID();
      const res = await exchange(h, {
        token: await opToken(h, u, { nonce, email: existing.email, email_verified: false }),
        nonce,
      });
      expect(await errorOf(res)).toMatchObject({ status: 409, error: "account_exists" });
      expect(await h.db.select().from(identities)).toEqual([]);
    });

    it("a verified token for an existing verified account: linked to it", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const existing = await verifiedAccount(h);
      const nonce = crypto.randomUUID();
      const body = await exchangeOk(h, {
        token: await opToken(h, u, { nonce, email: existing.email }),
        nonce,
      });
      expect(body.user.id).toBe(existing.id);
    });

    it("a missing nonce or subject_token, or another subject_token_type: invalid_request", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const token = await opToken(h, u, { nonce: "n" });
      for (const res of [
        await exchange(h, { token }),
        await exchange(h, { token: "", nonce: "n" }),
        await exchange(h, {
          token,
          nonce: "n",
          subjectTokenType: "urn:ietf:params:oauth:token-type:access_token",
        }),
      ]) {
        expect(await errorOf(res)).toMatchObject({ status: 400, error: "invalid_request" });
      }
    });

    it("client_id names the app the session is for; a client without the grant is refused", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const { clientId } = await h.registerClient({
        name: "Mobile App",
        grantTypes: [TOKEN_EXCHANGE, "refresh_token"],
        public: true,
        firstParty: true,
      });
      const nonce = crypto.randomUUID();
      const body = await exchangeOk(h, { token: await opToken(h, u, { nonce }), nonce, clientId });
      expect(decodeJwt(body.access_token).client_id).toBe(clientId);
      const other = await h.registerClient({
        name: "Web App",
        grantTypes: ["authorization_code"],
        redirectUris: [REDIRECT],
        public: true,
      });
      const nonce2 = crypto.randomUUID();
      const refused = await exchange(h, {
        token: await opToken(h, u, { nonce: nonce2 }),
        nonce: nonce2,
        clientId: other.clientId,
      });
      expect(await errorOf(refused)).toMatchObject({ status: 400, error: "unauthorized_client" });
    });

    it("a deleted provider's tokens are refused, its identities kept; added again under its name, they sign in to the same account", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const sub = `op-${crypto.randomUUID()}`;
      const nonce = crypto.randomUUID();
      const first = await exchangeOk(h, { token: await opToken(h, u, { nonce, sub }), nonce });
      expect(await deleteProvider(h.db, "acme")).toBe(true);
      const nonce2 = crypto.randomUUID();
      await expectInvalidGrant(
        await exchange(h, { token: await opToken(h, u, { nonce: nonce2, sub }), nonce: nonce2 }),
      );
      expect(await listIdentities(h, first.access_token)).toEqual([
        expect.objectContaining({ provider: "acme", kind: null }),
      ]);
      await addUpstream(h, u, "acme");
      const nonce3 = crypto.randomUUID();
      const again = await exchangeOk(h, {
        token: await opToken(h, u, { nonce: nonce3, sub, email: uniqueEmail("changed") }),
        nonce: nonce3,
      });
      expect(again.user.id).toBe(first.user.id);
    });

    it("a native-only provider (no client secret) exchanges as well", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme", { secret: undefined });
      const nonce = crypto.randomUUID();
      await exchangeOk(h, { token: await opToken(h, u, { nonce }), nonce });
    });

    it('Sign in with Apple on iOS: aud = the bundle id, email_verified the string "true", nonce hashed', async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "apple");
      const nonce = crypto.randomUUID();
      const email = uniqueEmail("ios");
      const token = await signIdToken(
        u.apple.signingJwk,
        {
          iss: u.apple.issuer,
          aud: u.apple.bundleId,
          sub: `001234.${crypto.randomUUID().replaceAll("-", "")}.0420`,
          nonce: await sha256Hex(nonce),
          nonce_supported: true,
          email,
          email_verified: "true",
          is_private_email: "false",
        },
        { now: h.clock.now() },
      );
      const body = await exchangeOk(h, { token, nonce });
      expect(body.user).toMatchObject({ email, email_verified: true });
      expect((await listIdentities(h, body.access_token))[0]).toMatchObject({
        provider: "apple",
        kind: "apple",
      });
    });

    it("Microsoft multi-tenant: iss names the user's tenant and tid matches; a tid that does not match iss is refused", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "microsoft");
      const tenantIssuer = u.microsoft.issuer;
      const mint = (nonce: string, claims: Record<string, unknown>) =>
        signIdToken(
          u.microsoft.privateJwk,
          {
            iss: tenantIssuer,
            aud: u.microsoft.client.clientId,
            sub: `ms-${crypto.randomUUID()}`,
            tid: u.microsoft.tenantId,
            email: uniqueEmail("ms-native"),
            email_verified: true,
            nonce,
            ...claims,
          },
          { now: h.clock.now() },
        );
      const nonce = crypto.randomUUID();
      await exchangeOk(h, { token: await mint(nonce, {}), nonce });
      const nonce2 = crypto.randomUUID();
      await expectInvalidGrant(
        await exchange(h, { token: await mint(nonce2, { tid: "another-tenant" }), nonce: nonce2 }),
      );
    });
  });

  describe("GET /v1/identities, DELETE /v1/identities/:id", () => {
    /** A password-less account made by the exchange with the OP. */
    async function nativeAccount(h: Harness, u: UpstreamsInfo, email = uniqueEmail("ids")) {
      const nonce = crypto.randomUUID();
      return exchangeOk(h, { token: await opToken(h, u, { nonce, email }), nonce });
    }

    it("the last way in (no password, one identity) cannot be unlinked: 409 last_identity", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const account = await nativeAccount(h, u);
      const [only] = await listIdentities(h, account.access_token);
      const res = await h.request(
        `/v1/identities/${only?.id}`,
        bearer(account.access_token, { method: "DELETE" }),
      );
      expect(await errorOf(res)).toMatchObject({ status: 409, error: "last_identity" });
      expect(await listIdentities(h, account.access_token)).toHaveLength(1);
    });

    it("with a second identity, one can go (204, identity_unlinked), then the other is the last", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      await addUpstream(h, u, "apple");
      const email = uniqueEmail("two");
      const account = await nativeAccount(h, u, email);
      // The same verified address at Apple links a second identity.
      const nonce = crypto.randomUUID();
      const apple = await exchangeOk(h, {
        token: await signIdToken(
          u.apple.signingJwk,
          {
            iss: u.apple.issuer,
            aud: u.apple.bundleId,
            sub: `002.${crypto.randomUUID()}`,
            nonce,
            email,
            email_verified: "true",
          },
          { now: h.clock.now() },
        ),
        nonce,
      });
      expect(apple.user.id).toBe(account.user.id);
      const both = await listIdentities(h, account.access_token);
      expect(both.map((i) => i.provider).sort()).toEqual(["acme", "apple"]);
      const acme = both.find((i) => i.provider === "acme") as IdentityView;
      const res = await h.request(
        `/v1/identities/${acme.id}`,
        bearer(account.access_token, { method: "DELETE" }),
      );
      expect(res.status).toBe(204);
      const left = await listIdentities(h, account.access_token);
      expect(left.map((i) => i.provider)).toEqual(["apple"]);
      expect(await eventTypes(h, account.access_token)).toContain("identity_unlinked");
      const last = await h.request(
        `/v1/identities/${left[0]?.id}`,
        bearer(account.access_token, { method: "DELETE" }),
      );
      expect(await errorOf(last)).toMatchObject({ status: 409, error: "last_identity" });
    });

    it("an account with a password may unlink its only identity", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const existing = await verifiedAccount(h);
      const nonce = crypto.randomUUID();
      const linked = await exchangeOk(h, {
        token: await opToken(h, u, { nonce, email: existing.email }),
        nonce,
      });
      expect(linked.user.id).toBe(existing.id);
      const [identity] = await listIdentities(h, linked.access_token);
      const res = await h.request(
        `/v1/identities/${identity?.id}`,
        bearer(linked.access_token, { method: "DELETE" }),
      );
      expect(res.status).toBe(204);
      expect(await listIdentities(h, linked.access_token)).toEqual([]);
      await passwordLogin(h, existing.email, PASSWORD);
    });

    it("another user's identity or an unknown id: 404 not_found; no token: 401", async () => {
      const h = await openHarness(createHarness);
      const u = upstreams();
      await addUpstream(h, u, "acme");
      const alice = await nativeAccount(h, u);
      const bob = await nativeAccount(h, u);
      const [aliceIdentity] = await listIdentities(h, alice.access_token);
      for (const id of [aliceIdentity?.id, "no-such-identity"]) {
        const res = await h.request(
          `/v1/identities/${id}`,
          bearer(bob.access_token, { method: "DELETE" }),
        );
        expect(await errorOf(res)).toMatchObject({ status: 404, error: "not_found" });
      }
      expect(await listIdentities(h, alice.access_token)).toHaveLength(1);
      expect((await h.request("/v1/identities")).status).toBe(401);
      expect(
        (await h.request(`/v1/identities/${aliceIdentity?.id}`, { method: "DELETE" })).status,
      ).toBe(401);
    });
  });
}
