import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { openHarness } from "../harness/open.ts";
import { Browser, heading, type Landing, readForms } from "../harness/rp-browser.ts";
import type { Harness, HarnessFactory } from "../harness/types.ts";
import { basic, errorOf, form, refresh, signup } from "./helpers.ts";

/**
 * The authorization-code flow's protocol edges, through `h.request` on Node and in workerd:
 * PKCE, the code's binding (verifier, redirect URI, client, single use, 60 s), where errors go
 * (never to an unregistered redirect URI: an HTML page without Location), the pages' CSRF and
 * framing defences, prompt/max_age, ID-token algorithms, and a discovery document whose every
 * URL answers. The happy path with real client libraries is tests/cases/oidc-clients.flows.ts.
 */

const REDIRECT = "https://app.example/cb";
const LOOPBACK = "http://127.0.0.1/callback";
const POST_LOGOUT = "https://app.example/bye";

const b64url = (bytes: ArrayBuffer | Uint8Array) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");

async function pkce() {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)),
  );
  return { verifier, challenge };
}

type Rp = { clientId: string; clientSecret?: string; public: boolean };

async function registerRp(
  h: Harness,
  options: {
    public?: boolean;
    firstParty?: boolean;
    redirectUris?: string[];
    refresh?: boolean;
    idTokenSignedResponseAlg?: string;
  } = {},
): Promise<Rp> {
  const reg = await h.registerClient({
    name: "Example App",
    grantTypes:
      options.refresh === false ? ["authorization_code"] : ["authorization_code", "refresh_token"],
    redirectUris: options.redirectUris ?? [REDIRECT, LOOPBACK],
    postLogoutRedirectUris: [POST_LOGOUT],
    public: options.public ?? false,
    firstParty: options.firstParty ?? true,
    ...(options.idTokenSignedResponseAlg
      ? { idTokenSignedResponseAlg: options.idTokenSignedResponseAlg }
      : {}),
  });
  return { ...reg, public: options.public ?? false };
}

/** The issuer-absolute URL of /oauth/authorize with these parameters. */
function authorizeUrl(h: Harness, params: Record<string, string | undefined>): string {
  const url = new URL("/oauth/authorize", h.config.issuer);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.toString();
}

/** A complete, valid request for `rp`, with `overrides` (undefined removes a parameter). */
async function request(rp: Rp, overrides: Record<string, string | undefined> = {}) {
  const { verifier, challenge } = await pkce();
  const params: Record<string, string | undefined> = {
    response_type: "code",
    client_id: rp.clientId,
    redirect_uri: REDIRECT,
    scope: "openid email",
    state: `st-${crypto.randomUUID()}`,
    nonce: `n-${crypto.randomUUID()}`,
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...overrides,
  };
  return { params, verifier };
}

const browserFor = (h: Harness) =>
  new Browser({ [h.config.issuer]: (url, init) => h.request(url, init) });

/** Signs in on the page (and allows on the consent page, if it comes); the URL it left for. */
async function signIn(
  browser: Browser,
  page: Landing,
  account: { email: string; password: string },
): Promise<URL> {
  expect(page.kind, JSON.stringify(page)).toBe("page");
  let landing = await browser.submit(
    page,
    { email: account.email, password: account.password },
    "/authorize/sign-in",
  );
  if (landing.kind === "page" && /Allow/.test(heading(landing))) {
    landing = await browser.submit(landing, { decision: "allow" }, "/authorize/consent");
  }
  expect(landing.kind, JSON.stringify(landing)).toBe("left");
  if (landing.kind !== "left") throw new Error("no redirect");
  return landing.url;
}

/** A code for `rp` (signs a new user in); its verifier and the browser holding the SSO cookie. */
async function codeFor(h: Harness, rp: Rp, overrides: Record<string, string | undefined> = {}) {
  const account = await signup(h);
  const browser = browserFor(h);
  const { params, verifier } = await request(rp, overrides);
  const back = await signIn(browser, await browser.navigate(authorizeUrl(h, params)), account);
  const code = back.searchParams.get("code");
  if (!code) throw new Error(`no code: ${back}`);
  expect(back.searchParams.get("state")).toBe(params.state);
  expect(back.searchParams.get("iss")).toBe(h.config.issuer);
  return { code, verifier, browser, account, params };
}

/** `POST /oauth/token` for the code, authenticated as `rp` (Basic, or client_id when public). */
function exchange(
  h: Harness,
  rp: Rp,
  input: { code: string; verifier: string; redirectUri?: string },
) {
  const body: Record<string, string> = {
    grant_type: "authorization_code",
    code: input.code,
    code_verifier: input.verifier,
    redirect_uri: input.redirectUri ?? REDIRECT,
  };
  const init = form(rp.public ? { ...body, client_id: rp.clientId } : body);
  if (!rp.public) {
    init.headers = {
      ...(init.headers as Record<string, string>),
      Authorization: basic(rp.clientId, rp.clientSecret as string),
    };
  }
  return h.request("/oauth/token", init);
}

/** An error page: HTML, 4xx, no Location, framing refused. */
async function expectErrorPage(res: Response) {
  expect(res.headers.get("Location")).toBeNull();
  expect(res.status).toBe(400);
  expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
  expect(res.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
  await res.body?.cancel();
}

/** The 303 back to the client carrying `error`, the request's `state` and `iss`. */
function expectErrorRedirect(
  h: Harness,
  res: Response,
  error: string,
  state: string | undefined,
  redirectUri = REDIRECT,
) {
  expect(res.status).toBe(303);
  const to = new URL(res.headers.get("Location") as string);
  expect(`${to.origin}${to.pathname}`).toBe(redirectUri);
  expect(to.searchParams.get("error")).toBe(error);
  expect(to.searchParams.get("state")).toBe(state ?? null);
  expect(to.searchParams.get("iss")).toBe(h.config.issuer);
  expect(to.searchParams.get("code")).toBeNull();
}

export function oauthCases(createHarness: HarnessFactory) {
  describe("authorization request: PKCE is mandatory and S256 only", () => {
    for (const [label, overrides] of [
      ["no code_challenge", { code_challenge: undefined, code_challenge_method: undefined }],
      ["code_challenge_method=plain", { code_challenge_method: "plain" }],
      ["no code_challenge_method (plain by default)", { code_challenge_method: undefined }],
      ["a challenge that is no S256 value", { code_challenge: "short" }],
    ] as const) {
      it(`${label}: 303 to the client with invalid_request, state and iss`, async () => {
        const h = await openHarness(createHarness);
        const rp = await registerRp(h);
        const { params } = await request(rp, overrides);
        const res = await h.request(authorizeUrl(h, params));
        expectErrorRedirect(h, res, "invalid_request", params.state);
      });
    }

    it("response_type other than code: unsupported_response_type, redirected", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h);
      const { params } = await request(rp, { response_type: "token" });
      expectErrorRedirect(
        h,
        await h.request(authorizeUrl(h, params)),
        "unsupported_response_type",
        params.state,
      );
    });
  });

  describe("redirect URI: exact match, never an open redirector", () => {
    const refused: Array<[string, string]> = [
      ["another host", "https://evil.example/cb"],
      ["an extra path segment", "https://app.example/cb/extra"],
      ["a dot-dot path", "https://app.example/cb/../evil"],
      ["an extra query", "https://app.example/cb?next=https://evil.example"],
      ["a fragment", "https://app.example/cb#frag"],
      ["http instead of https", "http://app.example/cb"],
      ["userinfo before the host", "https://app.example@evil.example/cb"],
      ["a different port", "https://app.example:8443/cb"],
      ["upper-case host", "https://APP.example/cb"],
      ["a trailing slash", "https://app.example/cb/"],
      ["loopback with another path", "http://127.0.0.1:51234/other"],
      ["localhost instead of 127.0.0.1", "http://localhost:51234/callback"],
      ["[::1] instead of 127.0.0.1", "http://[::1]:51234/callback"],
      ["loopback https", "https://127.0.0.1:51234/callback"],
      ["javascript:", "javascript:alert(1)"],
    ];
    for (const [label, redirectUri] of refused) {
      it(`${label} (${redirectUri}): an error page, no Location`, async () => {
        const h = await openHarness(createHarness);
        const rp = await registerRp(h);
        // Even with another error (no PKCE) the bad redirect URI is never used.
        const { params } = await request(rp, {
          redirect_uri: redirectUri,
          code_challenge: undefined,
        });
        await expectErrorPage(await h.request(authorizeUrl(h, params)));
      });
    }

    it("unknown or missing client_id: an error page, no Location", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h);
      const { params } = await request(rp, { client_id: "no-such-client" });
      await expectErrorPage(await h.request(authorizeUrl(h, params)));
      const { params: none } = await request(rp, { client_id: undefined });
      await expectErrorPage(await h.request(authorizeUrl(h, none)));
    });

    it("another client's redirect URI is refused", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h);
      await registerRp(h, { redirectUris: ["https://other.example/cb"] });
      const { params } = await request(rp, { redirect_uri: "https://other.example/cb" });
      await expectErrorPage(await h.request(authorizeUrl(h, params)));
    });

    it("a registered 127.0.0.1 loopback URI matches any port (RFC 8252), and the code goes there", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h, { public: true });
      for (const port of ["51234", "8080"]) {
        const redirectUri = `http://127.0.0.1:${port}/callback`;
        const { code, verifier } = await codeFor(h, rp, { redirect_uri: redirectUri });
        const res = await exchange(h, rp, { code, verifier, redirectUri });
        expect(res.status).toBe(200);
        // Bound to the port it was issued for.
      }
      const redirectUri = "http://127.0.0.1:40000/callback";
      const { code, verifier } = await codeFor(h, rp, { redirect_uri: redirectUri });
      const other = await exchange(h, rp, {
        code,
        verifier,
        redirectUri: "http://127.0.0.1:40001/callback",
      });
      expect(await errorOf(other)).toMatchObject({ status: 400, error: "invalid_grant" });
    });

    it("PAR refuses an unregistered redirect URI with JSON, not a redirect", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h);
      const { params } = await request(rp, { redirect_uri: "https://evil.example/cb" });
      const { client_id: _id, ...body } = params as Record<string, string>;
      const res = await h.request("/oauth/par", {
        ...form(body),
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Authorization: basic(rp.clientId, rp.clientSecret as string),
        },
      });
      expect(res.headers.get("Location")).toBeNull();
      expect(await errorOf(res)).toMatchObject({ status: 400, error: "invalid_request" });
    });

    it("a pushed request_uri works once, only with its client", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h);
      const other = await registerRp(h);
      const { params } = await request(rp);
      const res = await h.request("/oauth/par", {
        ...form(params as Record<string, string>),
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Authorization: basic(rp.clientId, rp.clientSecret as string),
        },
      });
      expect(res.status).toBe(201);
      const { request_uri, expires_in } = (await res.json()) as {
        request_uri: string;
        expires_in: number;
      };
      expect(request_uri).toMatch(/^urn:ietf:params:oauth:request_uri:/);
      expect(expires_in).toBeGreaterThan(0);
      await expectErrorPage(
        await h.request(authorizeUrl(h, { client_id: other.clientId, request_uri })),
      );
      const ok = await h.request(authorizeUrl(h, { client_id: rp.clientId, request_uri }));
      expect(ok.status).toBe(200);
      await ok.body?.cancel();
      await expectErrorPage(
        await h.request(authorizeUrl(h, { client_id: rp.clientId, request_uri })),
      );
    });
  });

  describe("token endpoint: the code is bound and single use", () => {
    it("a wrong code_verifier: invalid_grant", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h);
      const { code } = await codeFor(h, rp);
      const { verifier: wrong } = await pkce();
      expect(await errorOf(await exchange(h, rp, { code, verifier: wrong }))).toMatchObject({
        status: 400,
        error: "invalid_grant",
      });
    });

    it("a replayed code: invalid_grant, and the first exchange's tokens are revoked", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h, { public: true });
      const { code, verifier } = await codeFor(h, rp);
      const first = await exchange(h, rp, { code, verifier });
      expect(first.status).toBe(200);
      const tokens = (await first.json()) as { refresh_token: string; access_token: string };
      expect(await errorOf(await exchange(h, rp, { code, verifier }))).toMatchObject({
        status: 400,
        error: "invalid_grant",
      });
      const refreshed = await refresh(h, tokens.refresh_token, { client_id: rp.clientId });
      expect(await errorOf(refreshed)).toMatchObject({ status: 400, error: "invalid_grant" });
    });

    it("a redirect_uri other than the request's: invalid_grant", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h, { redirectUris: [REDIRECT, "https://app.example/cb2"] });
      const { code, verifier } = await codeFor(h, rp);
      const res = await exchange(h, rp, {
        code,
        verifier,
        redirectUri: "https://app.example/cb2",
      });
      expect(await errorOf(res)).toMatchObject({ status: 400, error: "invalid_grant" });
    });

    it("another client's code: invalid_grant", async () => {
      const h = await openHarness(createHarness);
      const victim = await registerRp(h);
      const attacker = await registerRp(h);
      const { code, verifier } = await codeFor(h, victim);
      expect(await errorOf(await exchange(h, attacker, { code, verifier }))).toMatchObject({
        status: 400,
        error: "invalid_grant",
      });
    });

    it("a public client cannot redeem a confidential client's code by naming its client_id", async () => {
      const h = await openHarness(createHarness);
      const confidential = await registerRp(h);
      const { code, verifier } = await codeFor(h, confidential);
      const res = await exchange(
        h,
        { clientId: confidential.clientId, public: true },
        { code, verifier },
      );
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(((await res.json()) as { error: string }).error).toMatch(
        /^(invalid_client|invalid_grant)$/,
      );
    });

    it("a code older than 60 s: invalid_grant", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h);
      const { code, verifier } = await codeFor(h, rp);
      h.clock.advance(61_000);
      expect(await errorOf(await exchange(h, rp, { code, verifier }))).toMatchObject({
        status: 400,
        error: "invalid_grant",
      });
    });

    it("no refresh token for a client without the refresh_token grant", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h, { refresh: false });
      const { code, verifier } = await codeFor(h, rp);
      const res = await exchange(h, rp, { code, verifier });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.refresh_token).toBeUndefined();
      expect(body.id_token).toEqual(expect.any(String));
      expect(body.scope).toBe("openid email");
    });
  });

  describe("ID tokens", () => {
    for (const alg of [undefined, "ES256", "EdDSA", "RS256"] as const) {
      it(`signed ${alg ?? "RS256 (default)"}, verifiable with the JWKS, claims per OIDC Core`, async () => {
        const h = await openHarness(createHarness);
        const rp = await registerRp(h, alg ? { idTokenSignedResponseAlg: alg } : {});
        const { code, verifier, params, account } = await codeFor(h, rp);
        const res = await exchange(h, rp, { code, verifier });
        expect(res.status).toBe(200);
        const { id_token } = (await res.json()) as { id_token: string };
        expect(decodeProtectedHeader(id_token).alg).toBe(alg ?? "RS256");
        const jwks = await (await h.request("/.well-known/jwks.json")).json();
        const { payload } = await jwtVerify(id_token, createLocalJWKSet(jwks as { keys: [] }), {
          issuer: h.config.issuer,
          audience: rp.clientId,
          currentDate: new Date(h.clock.now()),
        });
        expect(payload).toMatchObject({ nonce: params.nonce, email: account.email });
        expect(payload.auth_time).toEqual(expect.any(Number));
      });
    }
  });

  describe("hosted pages: CSRF and framing", () => {
    it("sign-in, consent and logout POSTs without the CSRF field are refused with 403", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h, { firstParty: false });
      const account = await signup(h);
      const browser = browserFor(h);
      const { params } = await request(rp);
      const page = await browser.navigate(authorizeUrl(h, params));
      const noCsrf = (fields: URLSearchParams) => fields.delete("csrf");
      const refused = await browser.submit(
        page,
        { email: account.email, password: account.password },
        "/authorize/sign-in",
        noCsrf,
      );
      expect(refused.kind === "page" && refused.status).toBe(403);
      // A field from another browser (cookie missing): refused too.
      const stranger = browserFor(h);
      const fields = readForms(page.kind === "page" ? page.html : "")[0]?.hidden ?? {};
      const res = await stranger.request(`${h.config.issuer}/authorize/sign-in`, {
        ...form({ ...fields, email: account.email, password: account.password }),
      });
      expect(res.status).toBe(403);
      await res.body?.cancel();

      const consent = await browser.submit(
        page,
        { email: account.email, password: account.password },
        "/authorize/sign-in",
      );
      expect(consent.kind === "page" && heading(consent)).toMatch(/^Allow /);
      const noConsent = await browser.submit(
        consent,
        { decision: "allow" },
        "/authorize/consent",
        noCsrf,
      );
      expect(noConsent.kind === "page" && noConsent.status).toBe(403);

      const logoutPage = await browser.navigate(
        `${h.config.issuer}/oauth/logout?client_id=${rp.clientId}`,
      );
      const noLogout = await browser.submit(logoutPage, {}, "/oauth/logout", noCsrf);
      expect(noLogout.kind === "page" && noLogout.status).toBe(403);
      // Still signed in: prompt=none after consenting properly gets a code.
      const allowed = await browser.submit(consent, { decision: "allow" }, "/authorize/consent");
      expect(allowed.kind === "left" && allowed.url.searchParams.get("code")).toEqual(
        expect.any(String),
      );
    });

    it("every page refuses framing: frame-ancestors 'none' and X-Frame-Options DENY", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h, { firstParty: false });
      const account = await signup(h);
      const browser = browserFor(h);
      const { params } = await request(rp);
      const signInPage = await browser.navigate(authorizeUrl(h, params));
      const consent = await browser.submit(
        signInPage,
        { email: account.email, password: account.password },
        "/authorize/sign-in",
      );
      const logout = await browser.navigate(`${h.config.issuer}/oauth/logout`);
      const error = await browser.navigate(authorizeUrl(h, { client_id: "nope" }));
      for (const page of [signInPage, consent, logout, error]) {
        expect(page.kind).toBe("page");
        if (page.kind !== "page") continue;
        expect(page.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
        expect(page.headers.get("X-Frame-Options")).toBe("DENY");
        expect(page.headers.get("Cache-Control")).toBe("no-store");
      }
    });
  });

  describe("prompt and max_age", () => {
    it("prompt=none without a browser session: login_required with state and iss", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h);
      const { params } = await request(rp, { prompt: "none" });
      expectErrorRedirect(
        h,
        await h.request(authorizeUrl(h, params)),
        "login_required",
        params.state,
      );
    });

    it("prompt=none signed in but without consent (third party): consent_required", async () => {
      const h = await openHarness(createHarness);
      const first = await registerRp(h);
      const third = await registerRp(h, { firstParty: false });
      const { browser } = await codeFor(h, first);
      const { params } = await request(third, { prompt: "none" });
      const res = await browser.request(authorizeUrl(h, params));
      expectErrorRedirect(h, res, "consent_required", params.state);
    });

    it("prompt=none with a session: a code, no page", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h);
      const { browser } = await codeFor(h, rp);
      const { params } = await request(rp, { prompt: "none" });
      const res = await browser.request(authorizeUrl(h, params));
      expect(res.status).toBe(303);
      expect(new URL(res.headers.get("Location") as string).searchParams.get("code")).toEqual(
        expect.any(String),
      );
    });

    it("max_age=0 and prompt=login show the sign-in page again despite the session", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h);
      const { browser, account } = await codeFor(h, rp);
      for (const extra of [{ max_age: "0" }, { prompt: "login" }]) {
        h.clock.advance(2_000);
        const { params, verifier } = await request(rp, extra);
        const page = await browser.navigate(authorizeUrl(h, params));
        expect(page.kind).toBe("page");
        expect(heading(page)).toBe("Sign in");
        const back = await signIn(browser, page, account);
        const res = await exchange(h, rp, {
          code: back.searchParams.get("code") as string,
          verifier,
        });
        const { id_token } = (await res.json()) as { id_token: string };
        const claims = JSON.parse(
          atob((id_token.split(".")[1] as string).replace(/-/g, "+").replace(/_/g, "/")),
        );
        // auth_time is the new sign-in's.
        expect(claims.auth_time).toBe(Math.floor(h.clock.now() / 1000));
      }
    });

    it("max_age larger than the session's age reuses the session", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h);
      const { browser } = await codeFor(h, rp);
      h.clock.advance(5_000);
      const { params } = await request(rp, { max_age: "3600" });
      const res = await browser.request(authorizeUrl(h, params));
      expect(res.status).toBe(303);
    });
  });

  describe("userinfo", () => {
    it("GET and POST with the code flow's access token; sub and email", async () => {
      const h = await openHarness(createHarness);
      const rp = await registerRp(h);
      const { code, verifier, account } = await codeFor(h, rp);
      const { access_token } = (await (await exchange(h, rp, { code, verifier })).json()) as {
        access_token: string;
      };
      for (const method of ["GET", "POST"]) {
        const res = await h.request("/oauth/userinfo", {
          method,
          headers: { Authorization: `Bearer ${access_token}` },
        });
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ email: account.email, sub: expect.any(String) });
      }
      const anonymous = await h.request("/oauth/userinfo");
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
    });
  });

  describe("discovery", () => {
    it("lists exactly the endpoints that exist, and every URL it lists answers", async () => {
      const h = await openHarness(createHarness);
      const doc = (await (await h.request("/.well-known/openid-configuration")).json()) as Record<
        string,
        unknown
      >;
      const issuer = h.config.issuer;
      const urls = Object.fromEntries(
        Object.entries(doc).filter(([, v]) => typeof v === "string" && /^https?:/.test(v)),
      );
      expect(urls).toEqual({
        issuer,
        authorization_endpoint: `${issuer}/oauth/authorize`,
        token_endpoint: `${issuer}/oauth/token`,
        userinfo_endpoint: `${issuer}/oauth/userinfo`,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        pushed_authorization_request_endpoint: `${issuer}/oauth/par`,
        end_session_endpoint: `${issuer}/oauth/logout`,
        revocation_endpoint: `${issuer}/oauth/revoke`,
        introspection_endpoint: `${issuer}/oauth/introspect`,
        service_documentation: `${issuer}/docs`,
      });
      expect(doc).toMatchObject({
        response_types_supported: ["code"],
        code_challenge_methods_supported: ["S256"],
        scopes_supported: ["openid", "profile", "email", "offline_access"],
        authorization_response_iss_parameter_supported: true,
      });
      expect(doc.id_token_signing_alg_values_supported).toContain("RS256");
      expect(doc.grant_types_supported).toContain("authorization_code");
      expect(doc.grant_types_supported).not.toContain("implicit");
      // Same document at the RFC 8414 address.
      const oauthDoc = await (await h.request("/.well-known/oauth-authorization-server")).json();
      expect(oauthDoc).toMatchObject({ authorization_endpoint: urls.authorization_endpoint });

      // Each listed URL answers its method (never 404 or 405).
      const methods: Record<string, string> = {
        token_endpoint: "POST",
        pushed_authorization_request_endpoint: "POST",
        revocation_endpoint: "POST",
        introspection_endpoint: "POST",
      };
      for (const [name, url] of Object.entries(urls)) {
        if (name === "issuer") continue;
        const method = methods[name] ?? "GET";
        const res = await h.request(
          url as string,
          method === "POST" ? form({}) : { method: "GET" },
        );
        expect([404, 405, 500], `${name} ${method} ${url}: ${res.status}`).not.toContain(
          res.status,
        );
        await res.body?.cancel();
      }
    });
  });
}
