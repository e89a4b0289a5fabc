import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { pageCsp, redirectTargetSource } from "../../src/pages/render.ts";
import { createNodeHarness } from "../harness/node.ts";
import { openHarness } from "../harness/open.ts";
import { Browser } from "../harness/rp-browser.ts";
import type { Harness } from "../harness/types.ts";

// The hosted pages of the authorization flow (docs/decisions.md, "Hosted pages"), through
// `app.request`: what each page renders (labels, autocomplete, errors beside their fields with
// the email kept), its headers (CSP with the client's origin in form-action, no framing,
// no-store), CSRF on every form, and the steps between them. The whole flow in Chromium and
// with real OAuth clients is tested elsewhere.

const PASSWORD = "correct horse battery staple";
const REDIRECT = "https://app.example/callback";

/**
 * The requests a browser would send to the pages at the issuer, with the shared cookie jar of
 * tests/harness/rp-browser.ts: the pages' forms, followed by hand.
 */
class PageClient {
  private readonly browser: Browser;
  private readonly origin: string;
  constructor(h: Harness) {
    this.origin = new URL(h.config.issuer).origin;
    this.browser = new Browser({ [this.origin]: (url, init) => h.request(url, init) });
  }

  /** The value of the cookie `name` the browser holds, if any. */
  cookie(name: string): string | undefined {
    return this.browser.cookies(this.origin).find((c) => c.name === name)?.value;
  }

  get(path: string) {
    return this.browser.request(`${this.origin}${path}`);
  }

  post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    return this.browser.request(`${this.origin}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }
}

/** A page's hidden fields. */
const hidden = (html: string, name: string) =>
  new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`).exec(html)?.[1];

/** The form of a page: its hidden fields by name (csrf, request, …). */
function formOf(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [, name, value] of html.matchAll(
    /<input type="hidden" name="([^"]+)" value="([^"]*)"/g,
  )) {
    fields[name as string] = (value as string).replaceAll("&amp;", "&");
  }
  return fields;
}

const json = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  return createHash("sha256").update(verifier).digest("base64url");
}

async function setup(
  env: Record<string, string> = {},
  client: { firstParty?: boolean; redirectUri?: string; postLogout?: string[] } = {},
) {
  const h = await openHarness(createNodeHarness, env);
  const { clientId } = await h.registerClient({
    name: "Acme Notes",
    grantTypes: ["authorization_code", "refresh_token"],
    redirectUris: [client.redirectUri ?? REDIRECT],
    postLogoutRedirectUris: client.postLogout ?? ["https://app.example/bye"],
    public: true,
    firstParty: client.firstParty ?? false,
  });
  const authorizePath = (extra: Record<string, string> = {}) =>
    `/oauth/authorize?${new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: client.redirectUri ?? REDIRECT,
      scope: "openid profile email offline_access",
      state: "st-123",
      code_challenge: pkce(),
      code_challenge_method: "S256",
      ...extra,
    })}`;
  return { h, clientId, authorizePath, browser: new PageClient(h) };
}

async function signupApi(h: Harness, email: string) {
  const res = await h.request("/v1/signup", json({ email, password: PASSWORD }));
  expect(res.status).toBe(201);
}

/** The next message to `to` in the development outbox (sends run in the background). */
async function mailTo(h: Harness, to: string, kind: string): Promise<{ link?: string }> {
  for (let i = 0; i < 100; i++) {
    const res = await h.request(`/dev/outbox?to=${encodeURIComponent(to)}`);
    const { messages } = (await res.json()) as { messages: { kind: string; link?: string }[] };
    const found = messages.find((m) => m.kind === kind);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no ${kind} message to ${to}`);
}

/** Headers every page of the flow has. */
function expectPageHeaders(res: Response, formAction: string[] = []) {
  expect(res.headers.get("Content-Type")).toBe("text/html; charset=UTF-8");
  expect(res.headers.get("Content-Security-Policy")).toBe(pageCsp(formAction));
  expect(res.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
  expect(res.headers.get("X-Frame-Options")).toBe("DENY");
  expect(res.headers.get("Cache-Control")).toBe("no-store");
  expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
  expect(res.headers.get("Location")).toBeNull();
}

/** No script, no inline style, a label for every visible input. */
function expectAccessibleForm(html: string) {
  expect(html).toMatch(/^<!doctype html><html lang="en">/);
  expect(html).not.toMatch(/<script|style=|<style/);
  const ids = [...html.matchAll(/<input id="([^"]+)"/g)].map((m) => m[1]);
  for (const id of ids) expect(html).toContain(`<label for="${id}">`);
  // Every input is either hidden or labelled (has an id with a label).
  const inputs = html.match(/<input [^>]*>/g) ?? [];
  for (const input of inputs) expect(input).toMatch(/type="hidden"|<input id="/);
}

describe("sign-in page", () => {
  it("GET /oauth/authorize shows the sign-in form: labels, autocomplete, hidden request and csrf, links", async () => {
    const { authorizePath, browser } = await setup();
    const res = await browser.get(authorizePath());
    expect(res.status).toBe(200);
    expectPageHeaders(res, ["https://app.example"]);
    const html = await res.text();
    expectAccessibleForm(html);
    expect(html).toContain("<title>Sign in · Tessera</title>");
    expect(html).toContain("to continue to <strong>Acme Notes</strong>");
    expect(html).toContain('<form method="post" action="/authorize/sign-in">');
    expect(html).toContain('<label for="email">Email</label>');
    expect(html).toMatch(
      /<input id="email" type="email" name="email" autocomplete="username" required="" autofocus=""/,
    );
    expect(html).toContain('<label for="password">Password</label>');
    expect(html).toMatch(
      /<input id="password" type="password" name="password" autocomplete="current-password" required=""/,
    );
    const requestId = hidden(html, "request") as string;
    expect(requestId).toMatch(/^[\w-]{16,64}$/);
    expect(hidden(html, "csrf")).toMatch(/^[\w-]{43}$/);
    expect(html).toContain(
      `href="/authorize/forgot-password?request=${requestId}">Forgot password?`,
    );
    expect(html).toContain(`href="/authorize/sign-up?request=${requestId}">Create an account`);
    expect(res.headers.get("Set-Cookie")).toMatch(
      /^tessera_form=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax$/,
    );
  });

  it("wrong credentials: the page again, the error at the password, the email kept, never the password", async () => {
    const { h, authorizePath, browser } = await setup();
    await signupApi(h, "ada@example.com");
    const form = formOf(await (await browser.get(authorizePath())).text());
    for (const [email, password] of [
      ["ada@example.com", "not the password at all"],
      ["nobody@example.com", PASSWORD],
    ] as const) {
      const res = await browser.post("/authorize/sign-in", { ...form, email, password });
      expect(res.status, email).toBe(400);
      expectPageHeaders(res, ["https://app.example"]);
      const html = await res.text();
      expectAccessibleForm(html);
      expect(html).toContain("<title>Error: Sign in · Tessera</title>");
      expect(html).toMatch(
        new RegExp(
          `<input id="email" type="email" name="email" autocomplete="username" value="${email}"`,
        ),
      );
      expect(html).toMatch(
        /<input id="password"[^>]* aria-invalid="true" aria-describedby="password-error"\/><p class="field-error" id="password-error"><svg [\s\S]*?<\/svg><span>Wrong email or password/,
      );
      expect(html).not.toContain(password);
      expect(browser.cookie("tessera_sso")).toBeUndefined();
    }
  });

  it("a password change that lands while the sign-in hashes: no browser session, no code", async () => {
    const { h, authorizePath, browser } = await setup();
    const signup = await h.request(
      "/v1/signup",
      json({ email: "ada@example.com", password: PASSWORD }),
    );
    const { access_token } = (await signup.json()) as { access_token: string };
    const form = formOf(await (await browser.get(authorizePath())).text());
    const hold = h.holdNextVerify();
    // The sign-in with the old password verified it and is held there...
    const racing = browser.post("/authorize/sign-in", {
      ...form,
      email: "ada@example.com",
      password: PASSWORD,
    });
    await hold.reached;
    // ...while the owner changes the password.
    const change = await h.request("/v1/password", {
      ...json({ current_password: PASSWORD, new_password: "a brand new passphrase" }),
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${access_token}` },
    });
    expect(change.status).toBe(204);
    hold.release();
    const res = await racing;
    expect(res.status).toBe(400);
    expect(res.headers.get("Location")).toBeNull();
    expect(browser.cookie("tessera_sso")).toBeUndefined();
  });

  it("a malformed address: the error at the email field, what was typed kept", async () => {
    const { authorizePath, browser } = await setup();
    const form = formOf(await (await browser.get(authorizePath())).text());
    const res = await browser.post("/authorize/sign-in", {
      ...form,
      email: "ada@",
      password: PASSWORD,
    });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toMatch(
      /<input id="email"[^>]* value="ada@"[^>]* aria-invalid="true" aria-describedby="email-error"/,
    );
    expect(html).toContain("Enter an email address like name@example.com");
    expect(html).not.toContain(PASSWORD);
  });

  it("third party: sign-in → consent (scopes in plain words) → Allow → 303 with code, state and iss; then SSO", async () => {
    const { h, authorizePath, browser } = await setup();
    await signupApi(h, "ada@example.com");
    const form = formOf(await (await browser.get(authorizePath())).text());
    const signedIn = await browser.post("/authorize/sign-in", {
      ...form,
      email: " Ada@Example.com ",
      password: PASSWORD,
    });
    expect(signedIn.status).toBe(200);
    expectPageHeaders(signedIn, ["https://app.example"]);
    expect(browser.cookie("tessera_sso")).toMatch(/^[\w-]{43}$/);
    const html = await signedIn.text();
    expectAccessibleForm(html);
    expect(html).toContain("<h1>Allow Acme Notes to access your account?</h1>");
    for (const words of [
      "Confirm it&#39;s you",
      "Your basic profile",
      "Your email address",
      "Stay signed in (access while you&#39;re away)",
    ]) {
      expect(html).toContain(`<li>${words}</li>`);
    }
    expect(html).toContain('<form method="post" action="/authorize/consent">');
    expect(html).toContain(
      '<button class="button" type="submit" name="decision" value="allow">Allow</button>',
    );
    expect(html).toContain(
      '<button class="button button-secondary" type="submit" name="decision" value="deny">Deny</button>',
    );
    expect(html).toContain("go back to <strong>app.example</strong>");

    // Asked again later (signed in, not yet consented): the page names the account too.
    const asked = await (await browser.get(authorizePath())).text();
    expect(asked).toContain("Signed in to Tessera as <strong>ada@example.com</strong>");

    const consent = formOf(html);
    const allowed = await browser.post("/authorize/consent", { ...consent, decision: "allow" });
    expect(allowed.status).toBe(303);
    const back = new URL(allowed.headers.get("Location") as string);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    expect(back.searchParams.get("code")).toBeTruthy();
    expect(back.searchParams.get("state")).toBe("st-123");
    expect(back.searchParams.get("iss")).toBe(h.config.issuer);

    // The next authorization: signed in and consented, straight back.
    const again = await browser.get(authorizePath({ state: "st-2" }));
    expect(again.status).toBe(303);
    expect(new URL(again.headers.get("Location") as string).searchParams.get("state")).toBe("st-2");
  });

  it("Deny sends access_denied back with the state", async () => {
    const { h, authorizePath, browser } = await setup();
    await signupApi(h, "bo@example.com");
    const form = formOf(await (await browser.get(authorizePath())).text());
    const consentPage = await browser.post("/authorize/sign-in", {
      ...form,
      email: "bo@example.com",
      password: PASSWORD,
    });
    const denied = await browser.post("/authorize/consent", {
      ...formOf(await consentPage.text()),
      decision: "deny",
    });
    expect(denied.status).toBe(303);
    const back = new URL(denied.headers.get("Location") as string);
    expect(back.searchParams.get("error")).toBe("access_denied");
    expect(back.searchParams.get("state")).toBe("st-123");
    expect(back.searchParams.get("code")).toBeNull();
  });

  it("a first-party client skips consent; an app's scheme is listed in form-action", async () => {
    const { h, authorizePath, browser } = await setup(
      {},
      { firstParty: true, redirectUri: "com.example.notes:/oauth" },
    );
    await signupApi(h, "cy@example.com");
    const page = await browser.get(authorizePath());
    expectPageHeaders(page, ["com.example.notes:"]);
    const res = await browser.post("/authorize/sign-in", {
      ...formOf(await page.text()),
      email: "cy@example.com",
      password: PASSWORD,
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toMatch(/^com\.example\.notes:\/oauth\?code=/);
  });
});

describe("sign-up page", () => {
  it("autocomplete email and new-password; policy errors at the password, a taken address at the email, the email kept", async () => {
    const { h, authorizePath, browser } = await setup();
    await signupApi(h, "taken@example.com");
    const first = await (await browser.get(authorizePath())).text();
    const requestId = hidden(first, "request") as string;
    const page = await browser.get(`/authorize/sign-up?request=${requestId}`);
    expect(page.status).toBe(200);
    expectPageHeaders(page, ["https://app.example"]);
    const html = await page.text();
    expectAccessibleForm(html);
    expect(html).toContain("<title>Create your account · Tessera</title>");
    expect(html).toContain('<form method="post" action="/authorize/sign-up">');
    expect(html).toMatch(
      /<input id="email" type="email" name="email" autocomplete="email" required=""/,
    );
    expect(html).toMatch(
      /<input id="password" type="password" name="password" autocomplete="new-password" required=""/,
    );
    expect(html).toContain("At least 8 characters.");
    expect(html).toContain(`href="/authorize/sign-in?request=${requestId}">Sign in</a>`);
    const form = formOf(html);

    for (const [password, message] of [
      ["short", "Password must be at least 8 characters"],
      ["password123", "This password is too common"],
    ] as const) {
      const res = await browser.post("/authorize/sign-up", {
        ...form,
        email: "new@example.com",
        password,
      });
      expect(res.status, password).toBe(400);
      const text = await res.text();
      expect(text).toContain("<title>Error: Create your account · Tessera</title>");
      expect(text).toMatch(
        /<input id="email" type="email" name="email" autocomplete="email" value="new@example.com"/,
      );
      expect(text).toMatch(
        new RegExp(
          `aria-describedby="password-hint password-error"/><p class="field-error" id="password-error"><svg [^]*?</svg><span>${message}`,
        ),
      );
      expect(text).not.toContain(`value="${password}"`);
    }
    const taken = await browser.post("/authorize/sign-up", {
      ...form,
      email: "taken@example.com",
      password: "another long passphrase",
    });
    expect(taken.status).toBe(409);
    const takenHtml = await taken.text();
    expect(takenHtml).toMatch(
      /<input id="email"[^>]* value="taken@example.com"[^>]* aria-invalid="true"/,
    );
    expect(takenHtml).toContain("An account with this address already exists. Sign in instead.");
    expect(browser.cookie("tessera_sso")).toBeUndefined();
  });

  it("EMAIL_VERIFICATION=optional: the account is created and signed in, the flow goes on, a verification mail goes out", async () => {
    const { h, authorizePath, browser } = await setup({}, { firstParty: true });
    const requestId = hidden(await (await browser.get(authorizePath())).text(), "request");
    const html = await (await browser.get(`/authorize/sign-up?request=${requestId}`)).text();
    const res = await browser.post("/authorize/sign-up", {
      ...formOf(html),
      email: "dee@example.com",
      password: PASSWORD,
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toMatch(/^https:\/\/app\.example\/callback\?code=/);
    expect(browser.cookie("tessera_sso")).toBeTruthy();
    expect((await mailTo(h, "dee@example.com", "verify_email")).link).toMatch(
      /\/verify-email\?token=/,
    );
    expect(
      (await h.request("/v1/login", json({ email: "dee@example.com", password: PASSWORD }))).status,
    ).toBe(200);
  });

  it("EMAIL_VERIFICATION=required: 'check your inbox', nobody signed in; sign-in before verifying is refused at the email", async () => {
    const { h, authorizePath, browser } = await setup({ EMAIL_VERIFICATION: "required" });
    const requestId = hidden(await (await browser.get(authorizePath())).text(), "request");
    const form = formOf(
      await (await browser.get(`/authorize/sign-up?request=${requestId}`)).text(),
    );
    const res = await browser.post("/authorize/sign-up", {
      ...form,
      email: "eve@example.com",
      password: PASSWORD,
    });
    expect(res.status).toBe(200);
    expectPageHeaders(res);
    const html = await res.text();
    expect(html).toContain("<h1>Check your inbox</h1>");
    expect(html).toContain("We&#39;ve sent a link to <strong>eve@example.com</strong>");
    expect(html).toContain("then sign in to continue to <strong>Acme Notes</strong>");
    expect(browser.cookie("tessera_sso")).toBeUndefined();
    await mailTo(h, "eve@example.com", "verify_email");

    const signInForm = formOf(
      await (await browser.get(`/authorize/sign-in?request=${requestId}`)).text(),
    );
    const refused = await browser.post("/authorize/sign-in", {
      ...signInForm,
      email: "eve@example.com",
      password: PASSWORD,
    });
    expect(refused.status).toBe(403);
    const refusedHtml = await refused.text();
    expect(refusedHtml).toMatch(
      /<input id="email"[^>]* value="eve@example.com"[^>]* aria-invalid="true"/,
    );
    expect(refusedHtml).toContain("Verify this address first");
    expect(browser.cookie("tessera_sso")).toBeUndefined();
  });
});

describe("forgot password", () => {
  it("asks for the address (autocomplete email), sends the reset link, says 'check your inbox' either way", async () => {
    const { h, authorizePath, browser } = await setup();
    await signupApi(h, "fay@example.com");
    const requestId = hidden(await (await browser.get(authorizePath())).text(), "request");
    const page = await browser.get(`/authorize/forgot-password?request=${requestId}`);
    expect(page.status).toBe(200);
    expectPageHeaders(page);
    const html = await page.text();
    expectAccessibleForm(html);
    expect(html).toContain('<form method="post" action="/authorize/forgot-password">');
    expect(html).toMatch(
      /<input id="email" type="email" name="email" autocomplete="email" required="" autofocus=""/,
    );
    const form = formOf(html);
    expect(form.request).toBe(requestId);

    const texts: string[] = [];
    for (const email of ["fay@example.com", "nobody@example.com"]) {
      const res = await browser.post("/authorize/forgot-password", { ...form, email });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain("<h1>Check your inbox</h1>");
      expect(text).toContain("The link works for 15 minutes.");
      texts.push(text.replace(email, "EMAIL"));
    }
    expect(texts[0]).toBe(texts[1]);
    const { link } = await mailTo(h, "fay@example.com", "reset_password");
    expect(new URL(link as string).pathname).toBe("/reset-password");
    expect(
      (await h.request(new URL(link as string).pathname + new URL(link as string).search)).status,
    ).toBe(200);

    const bad = await browser.post("/authorize/forgot-password", { ...form, email: "fay" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/<input id="email"[^>]* value="fay"[^>]* aria-invalid="true"/);
  });
});

describe("CSRF and expired requests", () => {
  it("every form POST without its field, without the cookie, with another form's field or cross-site is a 403 page", async () => {
    const { h, authorizePath, browser } = await setup();
    await signupApi(h, "gus@example.com");
    const signIn = formOf(await (await browser.get(authorizePath())).text());
    const { request } = signIn;
    const fields = { request: request as string, email: "gus@example.com", password: PASSWORD };
    const stranger = new PageClient(h);
    const attempts: Array<Promise<Response>> = [];
    for (const path of [
      "/authorize/sign-in",
      "/authorize/sign-up",
      "/authorize/forgot-password",
      "/authorize/consent",
      "/oauth/logout",
    ]) {
      attempts.push(browser.post(path, { ...fields, decision: "allow" }));
      attempts.push(
        stranger.post(path, { ...fields, csrf: signIn.csrf as string, decision: "allow" }),
      );
    }
    // The sign-in form's field does not pass another form.
    attempts.push(browser.post("/authorize/sign-up", { ...fields, csrf: signIn.csrf as string }));
    attempts.push(
      browser.post("/authorize/consent", {
        ...fields,
        csrf: signIn.csrf as string,
        decision: "allow",
      }),
    );
    attempts.push(
      browser.post(
        "/authorize/sign-in",
        { ...signIn, ...fields },
        { "Sec-Fetch-Site": "cross-site" },
      ),
    );
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(403);
      expectPageHeaders(res);
      expect(await res.text()).toContain("<h1>This form could not be sent</h1>");
    }
    expect(browser.cookie("tessera_sso")).toBeUndefined();
    // The real form still works.
    const ok = await browser.post("/authorize/sign-in", { ...signIn, ...fields });
    expect(ok.status).toBe(200);
  });

  it("an unknown or missing request id is an error page, never a redirect", async () => {
    const { browser } = await setup();
    const page = await browser.get("/authorize/sign-in?request=AAAAAAAAAAAAAAAAAAAAAA");
    expect(page.status).toBe(400);
    expectPageHeaders(page);
    expect(await page.text()).toContain("<h1>This sign-in has expired</h1>");
    expect((await browser.get("/authorize/sign-up")).status).toBe(400);
  });

  it("an unknown client or unregistered redirect URI is an error page, never a redirect", async () => {
    const { clientId, browser } = await setup();
    for (const query of [
      `client_id=nope&redirect_uri=${encodeURIComponent(REDIRECT)}&response_type=code`,
      `client_id=${clientId}&redirect_uri=${encodeURIComponent("https://evil.example/cb")}&response_type=code`,
    ]) {
      const res = await browser.get(`/oauth/authorize?${query}`);
      expect(res.status).toBe(400);
      expectPageHeaders(res);
      const html = await res.text();
      expect(html).not.toContain("<form");
      expect(html).toContain("<h1>This sign-in link is not valid</h1>");
    }
  });
});

describe("RP-initiated logout", () => {
  it("asks first; the POST ends the browser session and goes back to the registered URI with state", async () => {
    const { h, clientId, authorizePath, browser } = await setup({}, { firstParty: true });
    await signupApi(h, "hal@example.com");
    const form = formOf(await (await browser.get(authorizePath())).text());
    await browser.post("/authorize/sign-in", {
      ...form,
      email: "hal@example.com",
      password: PASSWORD,
    });
    expect(browser.cookie("tessera_sso")).toBeTruthy();

    const query = new URLSearchParams({
      client_id: clientId,
      post_logout_redirect_uri: "https://app.example/bye",
      state: "bye-1",
    });
    const page = await browser.get(`/oauth/logout?${query}`);
    expect(page.status).toBe(200);
    expectPageHeaders(page, ["https://app.example"]);
    const html = await page.text();
    expectAccessibleForm(html);
    expect(html).toContain("<h1>Sign out of Tessera?</h1>");
    expect(html).toContain("signed in as <strong>hal@example.com</strong>");
    expect(html).toContain("<strong>Acme Notes</strong> asked to sign you out.");
    expect(html).toContain('<form method="post" action="/oauth/logout">');
    // A GET alone signs nobody out.
    expect(browser.cookie("tessera_sso")).toBeTruthy();
    expect((await browser.get(authorizePath())).status).toBe(303);

    const fields = formOf(html);
    expect(fields.post_logout_redirect_uri).toBe("https://app.example/bye");
    // The hidden fields are validated again.
    const tampered = await browser.post("/oauth/logout", {
      ...fields,
      post_logout_redirect_uri: "https://evil.example/",
    });
    expect(tampered.status).toBe(400);
    expect(tampered.headers.get("Location")).toBeNull();

    const done = await browser.post("/oauth/logout", fields);
    expect(done.status).toBe(303);
    expect(done.headers.get("Location")).toBe("https://app.example/bye?state=bye-1");
    // Cleared as a browser clears it (the jar also drops a cookie set to an empty value).
    expect(done.headers.get("Set-Cookie")).toMatch(/^tessera_sso=; Max-Age=0; Path=\//);
    expect(browser.cookie("tessera_sso")).toBeUndefined();
    expect((await browser.get(authorizePath())).status).toBe(200); // the sign-in page again
  });

  it("without a redirect URI the POST says 'You are signed out'; an unregistered one is an error page", async () => {
    const { clientId, browser } = await setup();
    const page = await browser.get("/oauth/logout");
    expect(page.status).toBe(200);
    expectPageHeaders(page);
    const done = await browser.post("/oauth/logout", formOf(await page.text()));
    expect(done.status).toBe(200);
    expect(await done.text()).toContain("<h1>You are signed out</h1>");

    const bad = await browser.get(
      `/oauth/logout?client_id=${clientId}&post_logout_redirect_uri=${encodeURIComponent("https://evil.example/")}`,
    );
    expect(bad.status).toBe(400);
    expectPageHeaders(bad);
    expect(await bad.text()).toContain("<h1>This sign-out link is not valid</h1>");
  });
});

describe("form-action sources", () => {
  it("is the redirect URI's origin, or an app's scheme; nothing else reaches the header", () => {
    expect(redirectTargetSource("https://app.example/callback?x=1")).toBe("https://app.example");
    expect(redirectTargetSource("http://127.0.0.1:53100/cb")).toBe("http://127.0.0.1:53100");
    expect(redirectTargetSource("http://[::1]:8080/cb")).toBe("http://[::1]:8080");
    expect(redirectTargetSource("com.example.app:/oauth")).toBe("com.example.app:");
    expect(redirectTargetSource("not a url")).toBeUndefined();
    expect(pageCsp(["https://app.example"])).toContain("form-action 'self' https://app.example;");
  });
});
