import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ElementHandle, HTTPResponse, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomSecret } from "../../src/lib/random-id.ts";
import type { Mailbox } from "../harness/mailbox.ts";
import { openSmtpMailbox } from "../harness/smtp-mailbox.ts";
import { launchBrowser, type TestBrowser, type TestPage, waitForText } from "./harness.ts";
import { type LoopbackApp, startLoopbackApp } from "./loopback-app.ts";
import { type RunningServer, startServer } from "./server.ts";

// The authorization-code flow as a person meets it, in headless Chromium: loopback apps on
// 127.0.0.1 (RFC 8252: registered as http://127.0.0.1/cb, sent with their ephemeral port) send
// the browser to the built server (`dist/node.js`, mail over SMTP to a test mailbox), which
// signs the person up or in on its hosted pages, asks a third-party app for consent, and sends
// the browser back with a code the app exchanges and whose ID token it verifies with jose.
// Requests to any origin but Tessera's are blocked and recorded, except top-level navigations
// to the apps (their redirect URIs); every CSP violation is a failure.

const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));
const EMAIL = "ada@example.com";
const PASSWORD = "correct horse battery staple";

/** The page globals the in-page functions use (the project's TypeScript has no DOM library). */
type El = {
  id: string;
  tagName: string;
  value: string;
  textContent: string | null;
  nextElementSibling: El | null;
  control: El | null;
  getAttribute(name: string): string | null;
};
type PageGlobals = {
  document: {
    body: { innerText: string };
    activeElement: El | null;
    querySelectorAll(selector: string): ArrayLike<El>;
    getElementById(id: string): El | null;
  };
};

describe("OAuth in Chromium: loopback app → hosted sign-up/sign-in → consent → code → ID token", () => {
  let dir: string | undefined;
  let env: Record<string, string> = {};
  let mailbox: Mailbox | undefined;
  let server: RunningServer | undefined;
  let browser: TestBrowser | undefined;
  /** A third-party public client: asks for consent. */
  let prints: LoopbackApp | undefined;
  /** A first-party public client: never asks. */
  let console_: LoopbackApp | undefined;
  let tab: (TestPage & { documents: string[] }) | undefined;

  const cli = (...args: string[]) =>
    new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [CLI, ...args], { env }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
      );
    });

  /** Registers `app` as a public code-flow client (redirect URI port-less, RFC 8252 §7.3). */
  async function register(app: LoopbackApp, firstParty: boolean): Promise<void> {
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
      ...(firstParty ? ["--first-party"] : []),
      "--json",
    );
    app.clientId = (JSON.parse(out) as { client_id: string }).client_id;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tessera-oauth-flow-"));
    mailbox = await openSmtpMailbox();
    env = {
      PATH: process.env.PATH ?? "",
      DATABASE_URL: `file:${join(dir, "tessera.db")}`,
      TESSERA_SECRET: randomSecret(),
      LOG_LEVEL: "warn",
    };
    server = await startServer({ ...env, ...mailbox.env });
    prints = await startLoopbackApp({ issuer: server.url, name: "Photo Prints" });
    console_ = await startLoopbackApp({ issuer: server.url, name: "Tessera Console" });
    await register(prints, false);
    await register(console_, true);
    browser = await launchBrowser();
    const opened = await browser.openPage(server.url, {
      navigations: [prints.origin, console_.origin],
    });
    // Every top-level document the tab loaded: "STATUS URL", redirects included.
    const documents: string[] = [];
    opened.page.on("response", (res: HTTPResponse) => {
      if (res.request().isNavigationRequest() && res.frame() === opened.page.mainFrame()) {
        documents.push(`${res.status()} ${res.url()}`);
      }
    });
    tab = Object.assign(opened, { documents });
  });
  afterAll(async () => {
    await browser?.close();
    await prints?.close();
    await console_?.close();
    await server?.close();
    await mailbox?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const started = () => {
    if (!server || !browser || !prints || !console_ || !tab || !mailbox) {
      throw new Error("not started");
    }
    return { server, prints, firstParty: console_, tab, page: tab.page, mailbox };
  };

  /** Opens `url` and returns the top-level documents (status, URL) it went through. */
  async function open(url: string): Promise<string[]> {
    const { tab } = started();
    tab.documents.length = 0;
    await tab.page.goto(url, { waitUntil: "networkidle0" });
    return [...tab.documents];
  }

  /** Clicks (or presses) and waits for the navigation; returns the documents it went through. */
  async function navigate(action: () => Promise<unknown>): Promise<string[]> {
    const { tab } = started();
    tab.documents.length = 0;
    await Promise.all([tab.page.waitForNavigation({ waitUntil: "networkidle0" }), action()]);
    return [...tab.documents];
  }

  /**
   * The control of the `<label>` whose text is `text` (as a person finds a field), failing if
   * there is not exactly one such label or it labels nothing.
   */
  async function byLabel(page: Page, text: string): Promise<ElementHandle> {
    const handle = await page.evaluateHandle((t) => {
      const labels = Array.from(
        (globalThis as unknown as PageGlobals).document.querySelectorAll("label"),
      ).filter((l) => l.textContent?.trim() === t);
      return labels.length === 1 ? labels[0]?.control : null;
    }, text);
    const element = handle.asElement();
    if (!element) throw new Error(`no single control labelled "${text}" on ${page.url()}`);
    return element as ElementHandle;
  }

  /** What the field labelled `text` holds and how it is marked up. */
  const describeField = (page: Page, text: string) =>
    byLabel(page, text).then((el) =>
      el.evaluate((input) => {
        const e = input as unknown as El;
        return {
          value: e.value,
          autocomplete: e.getAttribute("autocomplete"),
          invalid: e.getAttribute("aria-invalid"),
          describedBy: e.getAttribute("aria-describedby"),
          next: e.nextElementSibling?.textContent?.trim() ?? null,
          focused: (globalThis as unknown as PageGlobals).document.activeElement === e,
        };
      }),
    );

  async function fill(page: Page, label: string, value: string): Promise<void> {
    const field = await byLabel(page, label);
    await field.click({ count: 3 });
    await field.evaluate((input) => {
      (input as unknown as El).value = "";
    });
    await field.type(value);
  }

  /** `waitForText`, failing with where the page is and what it shows instead. */
  async function see(page: Page, text: string): Promise<void> {
    try {
      await waitForText(page, text, 10_000);
    } catch {
      const shown = await page.evaluate(() => {
        const { body } = (globalThis as unknown as PageGlobals).document;
        // biome-ignore lint/performance/useDomNodeTextContent: rendered text is the point
        return body.innerText;
      });
      throw new Error(`"${text}" is not on ${page.url()}, which shows:\n${shown}`);
    }
  }

  const origin = (url: string) => new URL(url).origin;
  const path = (url: string) => new URL(url).pathname;

  /** Nothing left for an origin not allowed, no CSP violation, no console error. */
  function expectClean() {
    const { tab } = started();
    expect(tab.blocked, `requests to other origins:\n${tab.blocked.join("\n")}`).toEqual([]);
    expect(tab.cspViolations, "CSP violations").toEqual([]);
    expect(tab.cspConsole, "CSP console lines").toEqual([]);
    // A refused form answers 400: Chromium notes it in the console; asserted where expected.
    const documentStatus = /^Failed to load resource: the server responded with a status of 400/;
    expect(
      tab.errors.filter((e) => !documentStatus.test(e)),
      "console errors",
    ).toEqual([]);
    expect(started().prints.problems, "Photo Prints' failed checks").toEqual([]);
    expect(started().firstParty.problems, "Tessera Console's failed checks").toEqual([]);
  }

  it("signs up from a third-party app: sign-in page → create account (by labels) → consent → back with a code → signed in", async () => {
    const { server, prints, page, mailbox } = started();
    const toSignIn = await open(`${prints.origin}/login`);
    // The app's 302, then Tessera's sign-in page (200) on its own origin.
    expect(toSignIn.map((d) => d.split(" ")[0])).toEqual(["302", "200"]);
    expect(origin(page.url())).toBe(server.url);
    expect(path(page.url())).toBe("/oauth/authorize");
    await see(page, "to continue to Photo Prints");
    expect(await page.$eval("h1", (h) => h.textContent)).toBe("Sign in");
    expect(await describeField(page, "Email")).toMatchObject({
      autocomplete: "username",
      focused: true,
    });
    expect((await describeField(page, "Password")).autocomplete).toBe("current-password");

    // No account yet: the link to create one.
    await navigate(() =>
      page.locator("::-p-aria([name='Create an account'][role='link'])").click(),
    );
    expect(path(page.url())).toBe("/authorize/sign-up");
    expect(await page.$eval("h1", (h) => h.textContent)).toBe("Create your account");
    expect((await describeField(page, "Password")).autocomplete).toBe("new-password");
    await fill(page, "Email", EMAIL);
    await fill(page, "Password", PASSWORD);
    const toConsent = await navigate(() =>
      page.locator("::-p-aria([name='Create account'][role='button'])").click(),
    );
    expect(toConsent).toEqual([`200 ${server.url}/authorize/sign-up`]);

    // The consent page: who asks, as whom, what — the scopes in plain words, no scope names.
    await see(page, "Allow Photo Prints to access your account?");
    await see(page, `Signed in to Tessera as ${EMAIL}`);
    const scopes = await page.$$eval("ul.scopes li", (items) =>
      items.map((li) => li.textContent?.trim()),
    );
    expect(scopes).toEqual(["Confirm it's you", "Your email address"]);
    await see(page, `Either way you go back to ${new URL(prints.origin).host}`);

    const back = await navigate(() =>
      page.locator("::-p-aria([name='Allow'][role='button'])").click(),
    );
    // POST → 303 to the app's /cb (code, state, iss) → the app's page.
    expect(back).toHaveLength(2);
    expect(back[0]).toBe(`303 ${server.url}/authorize/consent`);
    const cb = new URL((back[1] as string).replace(/^200 /, ""));
    expect(cb.origin).toBe(prints.origin);
    expect(cb.pathname).toBe("/cb");
    expect([...cb.searchParams.keys()].sort()).toEqual(["code", "iss", "state"]);
    expect(cb.searchParams.get("iss")).toBe(server.url);
    await see(page, `Signed in as ${EMAIL}`);
    const visit = prints.visits.at(-1);
    expect(visit).toMatchObject({ path: "/cb", code: true, email: EMAIL });
    if (visit?.path === "/cb") {
      expect(visit.claims).toMatchObject({
        iss: server.url,
        aud: prints.clientId,
        amr: ["pwd"],
        email_verified: false,
      });
    }
    // The sign-up sent the address a verification link over SMTP.
    expect((await mailbox.next(EMAIL)).link).toMatch(/\/verify-email\?token=/);
    expectClean();
  });

  it("SSO: the app's next /login comes straight back, and a first-party app's asks nothing", async () => {
    const { server, prints, firstParty, page } = started();
    const again = await open(`${prints.origin}/login`);
    expect(again.map((d) => `${d.split(" ")[0]} ${path(d.split(" ")[1] as string)}`)).toEqual([
      "302 /login",
      "303 /oauth/authorize",
      "200 /cb",
    ]);
    expect(origin(page.url())).toBe(prints.origin);
    await see(page, `Signed in as ${EMAIL}`);

    // A first-party app: no sign-in form (the browser session) and no consent.
    const first = await open(`${firstParty.origin}/login`);
    expect(first).toEqual([
      `302 ${firstParty.origin}/login`,
      expect.stringMatching(new RegExp(`^303 ${server.url}/oauth/authorize\\?`)),
      expect.stringMatching(new RegExp(`^200 ${firstParty.origin}/cb\\?code=`)),
    ]);
    await see(page, `Signed in as ${EMAIL}`);
    expect(firstParty.visits.at(-1)).toMatchObject({ path: "/cb", code: true, email: EMAIL });
    expectClean();
  });

  it("RP-initiated logout: the app → Tessera's confirmation → Sign out → the app's /bye with its state", async () => {
    const { server, prints, page } = started();
    await open(`${prints.origin}/login`);
    await see(page, `Signed in as ${EMAIL}`);

    const toConfirm = await open(`${prints.origin}/logout`);
    expect(toConfirm.map((d) => d.split(" ")[0])).toEqual(["302", "200"]);
    expect(origin(page.url())).toBe(server.url);
    expect(path(page.url())).toBe("/oauth/logout");
    await see(page, "Sign out of Tessera?");
    await see(page, "Photo Prints asked to sign you out.");
    await see(page, `You're signed in as ${EMAIL}`);

    const byes = prints.visits.filter((v) => v.path === "/bye").length;
    const back = await navigate(() =>
      page.locator("::-p-aria([name='Sign out'][role='button'])").click(),
    );
    expect(back[0]).toBe(`303 ${server.url}/oauth/logout`);
    const bye = new URL((back[1] as string).replace(/^200 /, ""));
    expect(`${bye.origin}${bye.pathname}`).toBe(prints.postLogoutRedirectUri);
    await see(page, "Signed out of Photo Prints");
    const visits = prints.visits.filter((v) => v.path === "/bye");
    expect(visits).toHaveLength(byes + 1);
    expect(visits.at(-1)).toEqual({ path: "/bye", state: bye.searchParams.get("state") });
    expectClean();
  });

  it("prompt=none after the logout: the app gets error=login_required, no page shown", async () => {
    const { server, prints, page } = started();
    const docs = await open(`${prints.origin}/login?prompt=none`);
    expect(docs.map((d) => `${d.split(" ")[0]} ${path(d.split(" ")[1] as string)}`)).toEqual([
      "302 /login",
      "303 /oauth/authorize",
      "200 /cb",
    ]);
    const cb = new URL(page.url());
    expect(cb.searchParams.get("error")).toBe("login_required");
    expect(cb.searchParams.get("iss")).toBe(server.url);
    expect(cb.searchParams.has("code")).toBe(false);
    await see(page, "Sign-in failed: login_required");
    expect(prints.visits.at(-1)).toMatchObject({
      path: "/cb",
      code: false,
      error: "login_required",
    });
    expectClean();
  });

  it("signs in: a wrong password shows the error beside the field, the email kept; the right one goes back to the app", async () => {
    const { server, prints, page } = started();
    await open(`${prints.origin}/login`);
    expect(path(page.url())).toBe("/oauth/authorize");
    await see(page, "to continue to Photo Prints");
    await fill(page, "Email", EMAIL);
    await fill(page, "Password", "not the password at all");
    const refused = await navigate(() => page.keyboard.press("Enter"));
    expect(refused).toEqual([`400 ${server.url}/authorize/sign-in`]);
    await see(page, "Wrong email or password. Check both and try again.");
    expect(await page.title()).toBe("Error: Sign in · Tessera");
    expect(await describeField(page, "Email")).toMatchObject({ value: EMAIL, invalid: null });
    expect(await describeField(page, "Password")).toEqual({
      value: "",
      autocomplete: "current-password",
      invalid: "true",
      describedBy: "password-error",
      next: "Wrong email or password. Check both and try again.",
      focused: true,
    });

    // The password field has focus: type the right one and press Enter. Consent was given.
    await page.keyboard.type(PASSWORD);
    const back = await navigate(() => page.keyboard.press("Enter"));
    expect(back[0]).toBe(`303 ${server.url}/authorize/sign-in`);
    expect(back[1]).toMatch(new RegExp(`^200 ${prints.origin}/cb\\?code=`));
    await see(page, `Signed in as ${EMAIL}`);
    expectClean();
  });
});
