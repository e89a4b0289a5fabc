import { createHash, randomBytes } from "node:crypto";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listEvents } from "../../src/events/auth-events.ts";
import { addProvider } from "../../src/providers/provider-store.ts";
import { deriveKeys } from "../../src/secrets/derive-keys.ts";
import { findUserByEmail, markEmailVerified } from "../../src/users/users.ts";
import { createNodeHarness } from "../harness/node.ts";
import { openHarness } from "../harness/open.ts";
import { Browser, type Landing, type Page, pageText, readForms } from "../harness/rp-browser.ts";
import type { Harness } from "../harness/types.ts";
import { type RunningOp, startOidcOp } from "../upstream/oidc-op.ts";

// The browser leg of social sign-in on the hosted pages (docs/design/upstream.md, "The browser
// leg"), HTTP-level: Tessera through `app.request`, the upstream a real OpenID Provider
// (oidc-provider on a loopback port) with its own sign-in and consent pages, one cookie jar
// per origin. The "Continue with …" form, the tessera_upstream cookie binding the leg to the
// browser, the code back to the client and its exchange, and what goes wrong as pages.
// The shared provider cases (every kind, both runtimes) and Chromium are tested elsewhere.

const ISSUER = "http://tessera.test";
const REDIRECT = "https://app.example/callback";
const PASSWORD = "correct horse battery staple";
const OP_CLIENT = { clientId: "tessera-web", clientSecret: randomBytes(24).toString("base64url") };

let op: RunningOp;

beforeAll(async () => {
  op = await startOidcOp({
    clients: [{ ...OP_CLIENT, redirectUris: [`${ISSUER}/oauth/callback/acme`] }],
  });
});

afterAll(async () => {
  await op?.close();
});

const isPage = (landing: Landing): Page => {
  if (landing.kind !== "page") throw new Error(`left to ${landing.url}`);
  return landing;
};

/** A harness with the `acme` provider (the OP), a client, and a browser that knows both origins. */
async function setup(env: Record<string, string> = {}, provider: { secret?: boolean } = {}) {
  const h = await openHarness(createNodeHarness, { ISSUER, ...env });
  const { providerSecretKey } = await deriveKeys(h.config.secret as string);
  await addProvider(
    h.db,
    {
      name: "acme",
      kind: "oidc",
      issuer: op.issuer,
      clientIds: [OP_CLIENT.clientId],
      displayName: "Acme SSO",
      ...(provider.secret === false ? {} : { secret: OP_CLIENT.clientSecret }),
    },
    { secretKey: providerSecretKey, now: h.clock.now() },
  );
  const { clientId } = await h.registerClient({
    name: "Acme Notes",
    grantTypes: ["authorization_code", "refresh_token"],
    redirectUris: [REDIRECT],
    public: true,
    firstParty: true,
  });
  const verifier = randomBytes(32).toString("base64url");
  const authorizeUrl = `${h.config.issuer}/oauth/authorize?${new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: REDIRECT,
    scope: "openid email",
    state: "st-123",
    nonce: "n-456",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
  })}`;
  const browser = new Browser({
    [new URL(h.config.issuer).origin]: (url, init) => h.request(url, init),
  });
  browser.allow(op.origin);
  return { h, clientId, verifier, authorizeUrl, browser };
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** The sign-in page, then "Continue with Acme SSO": the OP's own sign-in page. */
async function continueWithAcme(s: Setup): Promise<Page> {
  const signIn = isPage(await s.browser.navigate(s.authorizeUrl));
  expect(signIn.status).toBe(200);
  return isPage(await s.browser.submit(signIn, { provider: "acme" }, "/authorize/upstream"));
}

const formTo = (suffix: string) => (form: { action: string }) => form.action.endsWith(suffix);

/** On the OP: sign in as `login` and consent; where the browser ends up (Tessera's answer). */
async function signInAtOp(s: Setup, opLogin: Page, login: string): Promise<Landing> {
  expect(opLogin.url.startsWith(op.origin)).toBe(true);
  const consent = await s.browser.submit(opLogin, { login, password: "anything" }, (f) =>
    f.inputs.includes("login"),
  );
  if (consent.kind === "left") return consent;
  // A second sign-in with the same OP session and grant skips the consent page.
  if (!consent.url.startsWith(op.origin)) return consent;
  return s.browser.submit(consent, {}, (f) => f.hidden.prompt === "consent");
}

/** The client's side: the code from the redirect, exchanged for tokens. */
async function exchange(s: Setup, landing: Landing) {
  if (landing.kind !== "left") throw new Error(`no redirect to the client: ${pageText(landing)}`);
  expect(landing.url.origin + landing.url.pathname).toBe(REDIRECT);
  expect(landing.url.searchParams.get("state")).toBe("st-123");
  expect(landing.url.searchParams.get("iss")).toBe(ISSUER);
  const code = landing.url.searchParams.get("code");
  expect(code).toBeTruthy();
  const res = await s.h.request("/oauth/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: code as string,
      redirect_uri: REDIRECT,
      client_id: s.clientId,
      code_verifier: s.verifier,
    }).toString(),
  });
  expect(res.status).toBe(200);
  const tokens = (await res.json()) as { id_token: string; access_token: string };
  return { tokens, idToken: decodeJwt(tokens.id_token) };
}

const eventTypes = async (h: Harness, userId: string) =>
  (await listEvents(h.db, { userId, limit: 50 })).map((e) => e.type).reverse();

/** The OP's callback to Tessera in this browser's history (the last one). */
const lastCallback = (s: Setup) =>
  [...s.browser.history]
    .reverse()
    .find((line) => line.startsWith(`GET ${ISSUER}/oauth/callback/acme?`))
    ?.slice("GET ".length);

describe("sign-in page", () => {
  it("shows a 'Continue with …' form per provider with a secret, under the password form; its CSP admits the provider's origin", async () => {
    const s = await setup();
    const page = isPage(await s.browser.navigate(s.authorizeUrl));
    expect(page.status).toBe(200);
    const forms = readForms(page.html);
    expect(forms.map((f) => f.action)).toEqual(["/authorize/sign-in", "/authorize/upstream"]);
    const upstream = forms[1];
    expect(upstream?.method).toBe("post");
    expect(upstream?.buttons).toEqual([{ name: "provider", value: "acme" }]);
    expect(upstream?.hidden.request).toBe(forms[0]?.hidden.request);
    // Its own CSRF field (form "upstream"), not the password form's.
    expect(upstream?.hidden.csrf).toMatch(/^[\w-]{43}$/);
    expect(upstream?.hidden.csrf).not.toBe(forms[0]?.hidden.csrf);
    // Both fields are MACs of one cookie, set once (a first visit brought none).
    const formCookies = (page.headers as unknown as { getSetCookie(): string[] })
      .getSetCookie()
      .filter((line) => line.startsWith("tessera_form="));
    expect(formCookies).toHaveLength(1);
    expect(page.html).toContain(">Continue with Acme SSO</button>");
    expect(page.html).not.toMatch(/<script|style=|<style/);
    expect(page.headers.get("Content-Security-Policy")).toContain(
      `form-action 'self' https://app.example ${op.origin};`,
    );
    // The sign-up page shares the template.
    const signUp = isPage(
      await s.browser.navigate(
        `${ISSUER}/authorize/sign-up?request=${forms[0]?.hidden.request as string}`,
      ),
    );
    expect(signUp.html).toContain(">Continue with Acme SSO</button>");
    expect(signUp.headers.get("Content-Security-Policy")).toContain(op.origin);
  });

  it("a provider without a secret (native only) gets no button, and the page is as before", async () => {
    const s = await setup({}, { secret: false });
    const page = isPage(await s.browser.navigate(s.authorizeUrl));
    expect(readForms(page.html).map((f) => f.action)).toEqual(["/authorize/sign-in"]);
    expect(page.html).not.toContain("Continue with");
    expect(page.html).not.toContain('class="divider"');
    expect(page.headers.get("Content-Security-Policy")).toContain(
      "form-action 'self' https://app.example;",
    );
  });
});

describe("POST /authorize/upstream", () => {
  it("303 to the provider's authorization endpoint (PKCE S256, state, nonce, our callback) with the state in tessera_upstream (HttpOnly, Lax, Path=/oauth/callback on http)", async () => {
    const s = await setup();
    const page = isPage(await s.browser.navigate(s.authorizeUrl));
    const form = readForms(page.html).find(formTo("/authorize/upstream"));
    const res = await s.browser.request(`${ISSUER}/authorize/upstream`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ ...form?.hidden, provider: "acme" }).toString(),
    });
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get("Location") as string);
    expect(location.origin).toBe(op.origin);
    const params = location.searchParams;
    expect(params.get("client_id")).toBe(OP_CLIENT.clientId);
    expect(params.get("redirect_uri")).toBe(`${ISSUER}/oauth/callback/acme`);
    expect(params.get("response_type")).toBe("code");
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(params.get("nonce")).toBeTruthy();
    const state = params.get("state") as string;
    expect(state).toMatch(/^[\w-]{16,}$/);
    const cookie = (res.headers as unknown as { getSetCookie(): string[] })
      .getSetCookie()
      .find((line) => line.startsWith("tessera_upstream="));
    expect(cookie).toBe(
      `tessera_upstream=${state}; Max-Age=600; Path=/oauth/callback; HttpOnly; SameSite=Lax`,
    );
  });

  it("on https the cookie is __Host-tessera_upstream, Secure, SameSite=None (Apple's form post is cross-site), Path=/", async () => {
    const s = await setup({ ISSUER: "https://tessera.test" });
    const page = isPage(
      await s.browser.navigate(s.authorizeUrl.replace(ISSUER, "https://tessera.test")),
    );
    const form = readForms(page.html).find(formTo("/authorize/upstream"));
    const res = await s.browser.request("https://tessera.test/authorize/upstream", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ ...form?.hidden, provider: "acme" }).toString(),
    });
    expect(res.status).toBe(303);
    const state = new URL(res.headers.get("Location") as string).searchParams.get("state");
    const cookie = (res.headers as unknown as { getSetCookie(): string[] })
      .getSetCookie()
      .find((line) => line.includes("tessera_upstream="));
    expect(cookie).toBe(
      `__Host-tessera_upstream=${state}; Max-Age=600; Path=/; HttpOnly; Secure; SameSite=None`,
    );
  });

  it("refuses a form without its CSRF field (403), and an unknown or secret-less provider shows the sign-in page with a message", async () => {
    const s = await setup();
    const page = isPage(await s.browser.navigate(s.authorizeUrl));
    const form = readForms(page.html).find(formTo("/authorize/upstream"));
    const post = (fields: Record<string, string>) =>
      s.browser.request(`${ISSUER}/authorize/upstream`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(fields).toString(),
      });
    const { csrf: _csrf, ...withoutCsrf } = form?.hidden ?? {};
    expect((await post({ ...withoutCsrf, provider: "acme" })).status).toBe(403);
    // The sign-in form's token is for another form.
    const signInCsrf = readForms(page.html)[0]?.hidden.csrf as string;
    expect((await post({ ...form?.hidden, csrf: signInCsrf, provider: "acme" })).status).toBe(403);
    for (const provider of ["nope", "../acme", ""]) {
      const res = await post({ ...form?.hidden, provider });
      expect(res.status, provider).toBe(400);
      const html = await res.text();
      expect(html).toContain("This way of signing in is not available");
      expect(html).toContain('role="alert"');
      expect(res.headers.get("Set-Cookie") ?? "").not.toContain("tessera_upstream");
    }
  });
});

describe("the callback", () => {
  it("happy path: a new account (no password, verified address) is created, the client gets its code and an id_token for that user; events signup, identity_linked, upstream_sign_in", async () => {
    const s = await setup();
    op.setAccount("grace", { email: "grace@op.example", email_verified: true, name: "Grace" });
    const opLogin = await continueWithAcme(s);
    const landing = await signInAtOp(s, opLogin, "grace");
    const { idToken } = await exchange(s, landing);
    const user = await findUserByEmail(s.h.db, "grace@op.example");
    expect(user).toBeDefined();
    expect(idToken.sub).toBe(user?.id);
    expect(idToken.email).toBe("grace@op.example");
    expect(idToken.email_verified).toBe(true);
    expect(idToken.nonce).toBe("n-456");
    expect(user?.passwordHash).toBe("");
    expect(user?.emailVerifiedAt).not.toBeNull();
    expect(await eventTypes(s.h, user?.id as string)).toEqual([
      "signup",
      "identity_linked",
      "upstream_sign_in",
    ]);
    // The leg's cookie is gone; the SSO cookie is set.
    expect(s.browser.cookies(ISSUER).map((c) => c.name)).not.toContain("tessera_upstream");
    expect(s.browser.cookies(ISSUER).map((c) => c.name)).toContain("tessera_sso");
    // The reason-free log line.
    expect(
      s.h.logs.some((l) => l.includes('"via":"upstream"') && l.includes(user?.id as string)),
    ).toBe(true);
    // No code, state or token from the OP in the log.
    const code = new URL(lastCallback(s) as string).searchParams.get("code") as string;
    expect(s.h.logs.join("\n")).not.toContain(code);
  });

  it("a second sign-in with the same identity is the same user (no new identity event)", async () => {
    const s = await setup();
    op.setAccount("hopper", { email: "hopper@op.example", email_verified: true });
    const first = await exchange(s, await signInAtOp(s, await continueWithAcme(s), "hopper"));
    // A clean browser: Tessera's sign-in page and the OP's again.
    const s2 = {
      ...s,
      browser: new Browser({ [ISSUER]: (url, init) => s.h.request(url, init) }),
    };
    s2.browser.allow(op.origin);
    const second = await exchange(s2, await signInAtOp(s2, await continueWithAcme(s2), "hopper"));
    expect(second.idToken.sub).toBe(first.idToken.sub);
    expect(await eventTypes(s.h, first.idToken.sub as string)).toEqual([
      "signup",
      "identity_linked",
      "upstream_sign_in",
      "upstream_sign_in",
    ]);
  });

  it("without the tessera_upstream cookie (a callback made in another browser: login CSRF) → the expired page, and nothing is signed in", async () => {
    const s = await setup();
    const opLogin = await continueWithAcme(s);
    // Drop the cookie, as another browser would not have it.
    s.browser.jar.set(
      new URL(ISSUER).origin,
      s.browser.cookies(ISSUER).filter((c) => c.name !== "tessera_upstream"),
    );
    const landing = isPage(await signInAtOp(s, opLogin, "mallory"));
    expect(landing.url.startsWith(`${ISSUER}/oauth/callback/acme?`)).toBe(true);
    expect(landing.status).toBe(400);
    expect(pageText(landing)).toContain("This sign-in has expired");
    expect(pageText(landing)).toContain("Go back to the app and start again");
    expect(landing.headers.get("X-Frame-Options")).toBe("DENY");
    expect(await findUserByEmail(s.h.db, "mallory@op.example")).toBeUndefined();
    expect(s.browser.cookies(ISSUER).map((c) => c.name)).not.toContain("tessera_sso");
    expect(s.h.logs.some((l) => l.includes("state_not_bound_to_browser"))).toBe(true);
  });

  it("a cookie for another leg (state mismatch) → the expired page", async () => {
    const s = await setup();
    const opLogin = await continueWithAcme(s);
    const cookies = s.browser
      .cookies(ISSUER)
      .map((c) =>
        c.name === "tessera_upstream" ? { ...c, value: randomBytes(32).toString("base64url") } : c,
      );
    s.browser.jar.set(new URL(ISSUER).origin, cookies);
    const landing = isPage(await signInAtOp(s, opLogin, "mallory"));
    expect(landing.status).toBe(400);
    expect(pageText(landing)).toContain("This sign-in has expired");
  });

  it("a replayed callback is refused: without the cookie (deleted by the first), and with it put back (the state row is used)", async () => {
    const s = await setup();
    op.setAccount("ada", { email: "ada@op.example", email_verified: true });
    const opLogin = await continueWithAcme(s);
    const stateCookie = s.browser.cookies(ISSUER).find((c) => c.name === "tessera_upstream");
    await exchange(s, await signInAtOp(s, opLogin, "ada"));
    const callback = lastCallback(s) as string;
    const replay = isPage(await s.browser.navigate(callback));
    expect(replay.status).toBe(400);
    expect(pageText(replay)).toContain("This sign-in has expired");
    // The cookie put back: the leg was taken once.
    const jar = s.browser.cookies(ISSUER);
    if (stateCookie) jar.push(stateCookie);
    s.browser.jar.set(new URL(ISSUER).origin, jar);
    const again = isPage(await s.browser.navigate(callback));
    expect(again.status).toBe(400);
    expect(pageText(again)).toContain("This sign-in has expired");
  });

  it("cancelled at the provider (access_denied) → the sign-in page of the same request with 'Sign-in with Acme SSO was cancelled'; it still works afterwards", async () => {
    const s = await setup();
    const opLogin = await continueWithAcme(s);
    const abort = /href="([^"]*\/abort)"/.exec(opLogin.html)?.[1] as string;
    expect(abort).toBeTruthy();
    const back = isPage(await s.browser.navigate(new URL(abort, opLogin.url).toString()));
    expect(back.url.startsWith(`${ISSUER}/oauth/callback/acme?`)).toBe(true);
    expect(new URL(back.url).searchParams.get("error")).toBe("access_denied");
    expect(back.status).toBe(400);
    expect(pageText(back)).toContain("Sign-in with Acme SSO was cancelled.");
    expect(back.html).toContain("<title>Error: Sign in · Tessera</title>");
    // The same pending request: its forms still work (a password sign-in, here).
    await s.h.request("/v1/signup", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "lin@example.com", password: PASSWORD }),
    });
    const landing = await s.browser.submit(
      back,
      { email: "lin@example.com", password: PASSWORD },
      "/authorize/sign-in",
    );
    await exchange(s, landing);
  });

  it("the provider's error_description is shown escaped; markup and odd characters never reach the page", async () => {
    const s = await setup();
    const opLogin = await continueWithAcme(s);
    expect(opLogin.status).toBe(200);
    const stateCookie = s.browser.cookies(ISSUER).find((c) => c.name === "tessera_upstream");
    const state = stateCookie?.value as string;
    // As a provider would answer (POST: also Apple's form_post shape, cross-site, no CSRF field).
    const res = await s.browser.request(`${ISSUER}/oauth/callback/acme`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "Sec-Fetch-Site": "cross-site",
        Origin: op.origin,
      },
      body: new URLSearchParams({
        state,
        iss: op.issuer,
        error: "temporarily_unavailable",
        error_description: "Upstream <b>busy</b> & 'down'",
      }).toString(),
    });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).not.toContain("<b>busy</b>");
    expect(html).toContain("Upstream &lt;b&gt;busy&lt;/b&gt; &amp; &#39;down&#39;");
    expect(html).toContain("Sign-in with Acme SSO did not go through:");
  });

  it("account_exists: an unverified password account with the address → the sign-in page (409) explains, the email kept; nothing is linked", async () => {
    const s = await setup();
    const signup = await s.h.request("/v1/signup", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "kay@example.com", password: PASSWORD }),
    });
    expect(signup.status).toBe(201);
    op.setAccount("kay", { email: "kay@example.com", email_verified: true });
    const landing = isPage(await signInAtOp(s, await continueWithAcme(s), "kay"));
    expect(landing.status).toBe(409);
    const text = pageText(landing);
    expect(text).toContain("An account with kay@example.com already exists.");
    expect(text).toContain("Sign in with your password instead");
    expect(text).toContain("Acme SSO can be linked to it once the address is verified");
    expect(landing.html).toMatch(
      /<input id="email" type="email" name="email" autocomplete="username" value="kay@example.com"/,
    );
    const user = await findUserByEmail(s.h.db, "kay@example.com");
    expect(await eventTypes(s.h, user?.id as string)).not.toContain("identity_linked");
    expect(s.browser.cookies(ISSUER).map((c) => c.name)).not.toContain("tessera_sso");
    // The password still signs in from that very page.
    const next = await s.browser.submit(
      landing,
      { email: "kay@example.com", password: PASSWORD },
      "/authorize/sign-in",
    );
    expect((await exchange(s, next)).idToken.sub).toBe(user?.id);
  });

  it("linking: a verified account with the address gets the identity (identity_linked) and the client gets that account", async () => {
    const s = await setup();
    await s.h.request("/v1/signup", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "lee@example.com", password: PASSWORD }),
    });
    const existing = await findUserByEmail(s.h.db, "lee@example.com");
    await markEmailVerified(s.h.db, {
      userId: existing?.id as string,
      email: "lee@example.com",
      now: s.h.clock.now(),
    });
    op.setAccount("lee", { email: "lee@example.com", email_verified: true });
    const { idToken } = await exchange(s, await signInAtOp(s, await continueWithAcme(s), "lee"));
    expect(idToken.sub).toBe(existing?.id);
    const types = await eventTypes(s.h, existing?.id as string);
    // The account's own signup (the API), then the link and the sign-in; no second account.
    expect(types).toEqual(["signup", "identity_linked", "upstream_sign_in"]);
  });

  it("EMAIL_VERIFICATION=required: an address the provider did not verify makes no account; the sign-in page says why (403), the address kept", async () => {
    const s = await setup({ EMAIL_VERIFICATION: "required" });
    op.setAccount("ivy", { email: "ivy@op.example", email_verified: false });
    const landing = isPage(await signInAtOp(s, await continueWithAcme(s), "ivy"));
    expect(landing.status).toBe(403);
    expect(pageText(landing)).toContain("The provider has not verified your email address");
    expect(landing.html).toContain('value="ivy@op.example"');
    expect(await findUserByEmail(s.h.db, "ivy@op.example")).toBeUndefined();
    expect(s.browser.cookies(ISSUER).map((c) => c.name)).not.toContain("tessera_sso");
  });

  it("an account made through a provider has no password: a password sign-in fails like a wrong password", async () => {
    const s = await setup();
    op.setAccount("noor", { email: "noor@op.example", email_verified: true });
    await exchange(s, await signInAtOp(s, await continueWithAcme(s), "noor"));
    // A clean browser (no SSO cookie): the sign-in page again.
    const browser = new Browser({ [ISSUER]: (url, init) => s.h.request(url, init) });
    const page = isPage(await browser.navigate(s.authorizeUrl));
    for (const password of ["", "anything at all", PASSWORD]) {
      const res = await browser.submit(
        page,
        { email: "noor@op.example", password },
        "/authorize/sign-in",
      );
      const refused = isPage(res);
      expect(refused.status, `${password}: ${pageText(refused)}`).toBe(400);
      expect(pageText(refused)).toContain("Wrong email or password");
    }
  });

  it("HEAD on the callback takes no leg; an unknown provider is the expired page", async () => {
    const s = await setup();
    await continueWithAcme(s);
    const state = s.browser.cookies(ISSUER).find((c) => c.name === "tessera_upstream")?.value;
    const head = await s.browser.request(`${ISSUER}/oauth/callback/acme?state=${state}&code=x`, {
      method: "HEAD",
    });
    expect(head.status).toBe(200);
    expect(s.browser.cookies(ISSUER).map((c) => c.name)).toContain("tessera_upstream");
    const unknown = isPage(
      await s.browser.navigate(`${ISSUER}/oauth/callback/nope?state=${state}&code=x`),
    );
    expect(unknown.status).toBe(400);
    expect(pageText(unknown)).toContain("This sign-in has expired");
  });
});
