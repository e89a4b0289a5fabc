import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { HTTPResponse, Page } from "puppeteer-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { randomSecret } from "../../src/lib/random-id.ts";
import { type RunningUpstreams, startUpstreams } from "../upstream/start-upstreams.ts";
import { launchBrowser, type TestBrowser, type TestPage, waitForText } from "./harness.ts";
import { type LoopbackApp, startLoopbackApp } from "./loopback-app.ts";
import { type RunningServer, startServer } from "./server.ts";

// Social sign-in as a person meets it, in headless Chromium: a loopback app sends the browser
// to the built server (`dist/node.js`), whose sign-in page offers "Continue with …"; the
// click goes to the upstream's own pages — oidc-provider's dev sign-in and consent, or the
// Apple-like server, whose answer is a form post back — and Tessera sends the browser on to
// the app with a code, which the app exchanges and whose ID token it verifies with jose.
// Providers are added with the operator CLI (`providers add … --json`).
//
// The upstream servers are addressed as http://localhost:<port> like Tessera: on plain http
// Tessera's `tessera_upstream` cookie is SameSite=Lax (docs/design/upstream.md), which a
// browser sends on Apple's form post only from the same site (localhost, any port); on https
// it is SameSite=None. Each test has a fresh Chromium profile (no Tessera or OP session).

const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

/** The page globals the in-page functions use (the project's TypeScript has no DOM library). */
type PageGlobals = { document: { body: { innerText: string } } };

describe("social sign-in in Chromium: app → Tessera → the upstream's own pages → back with a code", () => {
  let dir: string | undefined;
  let env: Record<string, string> = {};
  let server: RunningServer | undefined;
  let upstreams: RunningUpstreams | undefined;
  let app: LoopbackApp | undefined;
  let browser: TestBrowser | undefined;

  const cli = (...args: string[]) =>
    new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [CLI, ...args], { env }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
      );
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tessera-social-"));
    env = {
      PATH: process.env.PATH ?? "",
      DATABASE_URL: `file:${join(dir, "tessera.db")}`,
      TESSERA_SECRET: randomSecret(),
      LOG_LEVEL: "warn",
    };
    server = await startServer(env);
    env.ISSUER = server.url;
    upstreams = await startUpstreams({ tesseraIssuer: server.url, hostname: "localhost" });
    const { info } = upstreams;
    const added = [
      await cli(
        "providers",
        "add",
        "oidc",
        "--name",
        "acme",
        "--issuer",
        info.op.issuer,
        "--client-id",
        info.op.client.clientId,
        "--client-secret",
        info.op.client.clientSecret,
        "--display-name",
        "Acme SSO",
        "--json",
      ),
      await cli(
        "providers",
        "add",
        "apple",
        "--issuer",
        info.apple.issuer,
        "--client-id",
        info.apple.clientId,
        "--client-id",
        info.apple.bundleId,
        "--team-id",
        info.apple.teamId,
        "--key-id",
        info.apple.keyId,
        "--private-key-file",
        upstreams.apple.privateKeyFile,
        "--json",
      ),
    ].map((out) => JSON.parse(out) as { name: string; kind: string; callback_url: string });
    // The redirect URIs the upstream clients were registered with.
    expect(added).toEqual([
      { name: "acme", kind: "oidc", callback_url: `${server.url}/oauth/callback/acme` },
      { name: "apple", kind: "apple", callback_url: `${server.url}/oauth/callback/apple` },
    ]);
    app = await startLoopbackApp({ issuer: server.url, name: "Photo Prints" });
    const out = await cli(
      "clients",
      "create",
      "--name",
      app.name,
      "--grant-types",
      "authorization_code,refresh_token",
      "--redirect-uri",
      "http://127.0.0.1/cb",
      "--post-logout-redirect-uri",
      app.postLogoutRedirectUri,
      "--public",
      "--first-party",
      "--json",
    );
    app.clientId = (JSON.parse(out) as { client_id: string }).client_id;
  });
  afterEach(async () => {
    await browser?.close();
    browser = undefined;
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await upstreams?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const started = () => {
    if (!server || !upstreams || !app) throw new Error("not started");
    return { server, upstreams, app };
  };

  /** A fresh Chromium whose tab may navigate to the app and the upstreams (their pages' sub-resources stay blocked). */
  async function openTab(): Promise<TestPage & { documents: string[] }> {
    const { server, upstreams, app } = started();
    browser = await launchBrowser();
    const tab = await browser.openPage(server.url, {
      navigations: [app.origin, upstreams.op.origin, upstreams.apple.origin],
    });
    const documents: string[] = [];
    tab.page.on("response", (res: HTTPResponse) => {
      if (res.request().isNavigationRequest() && res.frame() === tab.page.mainFrame()) {
        documents.push(`${res.status()} ${res.request().method()} ${res.url()}`);
      }
    });
    return Object.assign(tab, { documents });
  }

  async function see(page: Page, text: string): Promise<void> {
    try {
      await waitForText(page, text, 10_000);
    } catch {
      const shown = await page.evaluate(
        // biome-ignore lint/performance/useDomNodeTextContent: rendered text is the point
        () => (globalThis as unknown as PageGlobals).document.body.innerText,
      );
      throw new Error(`"${text}" is not on ${page.url()}, which shows:\n${shown}`);
    }
  }

  /** Clicks and waits for the navigation to settle. */
  async function navigate(page: Page, action: () => Promise<unknown>): Promise<void> {
    await Promise.all([page.waitForNavigation({ waitUntil: "networkidle0" }), action()]);
  }

  /** No CSP violation on Tessera's pages, no console error, the app found nothing wrong. */
  function expectClean(tab: TestPage) {
    // The OP's dev pages import a web font from Google and have no icon (Chromium asks for
    // /favicon.ico); nothing else leaves.
    const upstreamPages = [
      "https://fonts.googleapis.com/",
      `${started().upstreams.op.origin}/favicon.ico`,
    ];
    expect(tab.blocked.filter((url) => !upstreamPages.some((p) => url.startsWith(p)))).toEqual([]);
    expect(tab.cspViolations, "CSP violations").toEqual([]);
    expect(tab.cspConsole, "CSP console lines").toEqual([]);
    expect(
      tab.errors.filter(
        (e) =>
          !/^Failed to load resource: (the server responded with a status of (400|409)|net::ERR_BLOCKED_BY_CLIENT)/.test(
            e,
          ),
      ),
      "console errors",
    ).toEqual([]);
    expect(started().app.problems, "the app's failed checks").toEqual([]);
  }

  /** The app's /login → Tessera's sign-in page, with the providers' buttons. */
  async function toSignIn(tab: TestPage) {
    const { server, app } = started();
    await tab.page.goto(`${app.origin}/login`, { waitUntil: "networkidle0" });
    expect(new URL(tab.page.url()).origin).toBe(server.url);
    await see(tab.page, "to continue to Photo Prints");
    await see(tab.page, "Continue with Acme SSO");
    await see(tab.page, "Continue with Apple");
  }

  /** On the OP's dev pages: its sign-in (any password), then its consent. */
  async function throughOp(page: Page, login: string) {
    const { upstreams } = started();
    expect(new URL(page.url()).origin).toBe(upstreams.op.origin);
    await see(page, "Sign-in");
    await page.locator("input[name=login]").fill(login);
    await page.locator("input[name=password]").fill("any password");
    await navigate(page, () => page.locator("button[type=submit]").click());
    await see(page, "Authorize");
    await navigate(page, () => page.locator("button[type=submit]").click());
  }

  it("Continue with an OpenID Provider: its own sign-in and consent pages, back to Tessera, the app gets its code and verifies the ID token", async () => {
    const { server, upstreams, app } = started();
    const tab = await openTab();
    const email = "ada.op@example.com";
    const login = `ada-${crypto.randomUUID().slice(0, 8)}`;
    upstreams.op.setAccount(login, { email, email_verified: true, name: "Ada" });
    await toSignIn(tab);

    await navigate(tab.page, () =>
      tab.page.locator("::-p-aria([name='Continue with Acme SSO'][role='button'])").click(),
    );
    // POST /authorize/upstream → 303 to the OP (form-action lists its origin) → its pages.
    expect(tab.documents).toContainEqual(`303 POST ${server.url}/authorize/upstream`);
    tab.documents.length = 0;
    await throughOp(tab.page, login);

    // The OP's redirect to the callback, Tessera's 303 to the app, the app's page.
    const callback = tab.documents.find((d) => d.includes("/oauth/callback/acme"));
    expect(callback).toMatch(new RegExp(`^303 GET ${server.url}/oauth/callback/acme\\?`));
    expect(new URL(tab.page.url()).origin).toBe(app.origin);
    await see(tab.page, `Signed in as ${email}`);
    const visit = app.visits.at(-1);
    expect(visit).toMatchObject({ path: "/cb", code: true, email });
    if (visit?.path === "/cb") {
      expect(visit.claims).toMatchObject({
        iss: server.url,
        aud: app.clientId,
        email_verified: true,
      });
    }
    expectClean(tab);
  });

  it("Continue with Apple: the Apple ID page, the form post back (Apple's form_post), the app gets its code", async () => {
    const { server, upstreams, app } = started();
    const tab = await openTab();
    const email = "grace.apple@example.com";
    const before = upstreams.apple.tokenRequests.length;
    await toSignIn(tab);
    await navigate(tab.page, () =>
      tab.page.locator("::-p-aria([name='Continue with Apple'][role='button'])").click(),
    );
    expect(new URL(tab.page.url()).origin).toBe(upstreams.apple.origin);
    await see(tab.page, "Sign in with Apple");
    await tab.page.locator("::-p-aria(Apple ID)").fill(email);
    tab.documents.length = 0;
    // Continue → Apple's page posts itself to Tessera's callback → 303 → the app.
    await Promise.all([
      tab.page.waitForFunction(
        (origin) =>
          (globalThis as unknown as { location: { origin: string } }).location.origin === origin,
        { timeout: 20_000 },
        app.origin,
      ),
      tab.page.locator("::-p-aria([name='Continue'][role='button'])").click(),
    ]);
    await see(tab.page, `Signed in as ${email}`);
    expect(tab.documents).toContainEqual(`303 POST ${server.url}/oauth/callback/apple`);
    const requests = upstreams.apple.tokenRequests.slice(before);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.refused).toBeUndefined();
    expect(app.visits.at(-1)).toMatchObject({ path: "/cb", code: true, email });
    expectClean(tab);
  });

  it("linking: an account whose address is verified signs in through the OP with the same verified address, and the app gets that account", async () => {
    const { server, upstreams, app } = started();
    const email = "linked.verified@example.com";
    const signup = await fetch(`${server.url}/v1/signup`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password: "correct horse battery staple" }),
    });
    expect(signup.status).toBe(201);
    const { user } = (await signup.json()) as { user: { id: string } };
    // The emailed verification link (the log transport's development outbox), used.
    let link: string | undefined;
    for (let i = 0; i < 50 && !link; i++) {
      const outbox = await fetch(`${server.url}/dev/outbox?to=${encodeURIComponent(email)}`);
      const { messages } = (await outbox.json()) as { messages: { kind: string; link?: string }[] };
      link = messages.find((m) => m.kind === "verify_email")?.link;
      if (!link) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const token = new URL(link ?? "http://x/").searchParams.get("token");
    const verified = await fetch(`${server.url}/v1/verify-email`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token }),
    });
    expect(verified.status).toBe(200);

    const login = `linked-${crypto.randomUUID().slice(0, 8)}`;
    upstreams.op.setAccount(login, { email, email_verified: true });
    const tab = await openTab();
    await toSignIn(tab);
    await navigate(tab.page, () =>
      tab.page.locator("::-p-aria([name='Continue with Acme SSO'][role='button'])").click(),
    );
    await throughOp(tab.page, login);
    await see(tab.page, `Signed in as ${email}`);
    const visit = app.visits.at(-1);
    expect(visit).toMatchObject({ path: "/cb", code: true, email });
    expect(visit?.path === "/cb" && visit.claims?.sub).toBe(user.id);
    expectClean(tab);
  });

  it("an account with the OP's address exists and is not verified: the sign-in page says so, the app gets nothing", async () => {
    const { server, upstreams, app } = started();
    const email = "existing.unverified@example.com";
    const signup = await fetch(`${server.url}/v1/signup`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password: "correct horse battery staple" }),
    });
    expect(signup.status).toBe(201);
    const login = `taken-${crypto.randomUUID().slice(0, 8)}`;
    upstreams.op.setAccount(login, { email, email_verified: true });
    const visits = app.visits.length;
    const tab = await openTab();
    await toSignIn(tab);
    await navigate(tab.page, () =>
      tab.page.locator("::-p-aria([name='Continue with Acme SSO'][role='button'])").click(),
    );
    await throughOp(tab.page, login);
    expect(new URL(tab.page.url()).origin).toBe(server.url);
    await see(tab.page, `An account with ${email} already exists`);
    // Still the sign-in page: the password form and the buttons.
    await see(tab.page, "Forgot password?");
    await see(tab.page, "Continue with Acme SSO");
    expect(app.visits).toHaveLength(visits);
    expectClean(tab);
  });
});
