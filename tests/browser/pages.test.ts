import type { Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Mailbox, ReceivedMail } from "../harness/mailbox.ts";
import { openSmtpMailbox } from "../harness/smtp-mailbox.ts";
import { launchBrowser, type TestBrowser, type TestPage, waitForText } from "./harness.ts";
import { type RunningServer, startServer } from "./server.ts";

// The hosted pages the emailed links open, in headless Chromium against the built server
// (`dist/node.js`), whose mail goes over real SMTP to a test mailbox: the person's path from
// the message to the result, other origins blocked, every CSP violation a failure.

const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "moonlit harbour typewriter";

/** The page globals the in-page functions use (the project's TypeScript has no DOM library). */
type El = {
  id: string;
  nextElementSibling: El | null;
  getAttribute(name: string): string | null;
  textContent: string | null;
};
type PageGlobals = {
  document: {
    activeElement: El | null;
    documentElement: { scrollWidth: number; clientWidth: number };
    body: El;
    getElementById(id: string): El | null;
    querySelector(selector: string): El | null;
  };
  getComputedStyle(el: El): { backgroundColor: string; color: string };
};

describe("the hosted pages in Chromium: emailed link → page → result", () => {
  let mailbox: Mailbox | undefined;
  let server: RunningServer | undefined;
  let browser: TestBrowser | undefined;

  beforeAll(async () => {
    mailbox = await openSmtpMailbox();
    server = await startServer(mailbox.env);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await mailbox?.close();
  });

  const started = () => {
    if (!mailbox || !server || !browser) throw new Error("not started");
    return { mailbox, server, browser, origin: server.url };
  };

  const api = async (path: string, body: unknown, token?: string) =>
    fetch(`${started().origin}${path}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    });

  const me = async (token: string) =>
    (await (
      await fetch(`${started().origin}/v1/me`, { headers: { Authorization: `Bearer ${token}` } })
    ).json()) as { email_verified: boolean };

  /** The next message to `to` whose link opens `pathname`. */
  async function linkTo(to: string, pathname: string): Promise<string> {
    for (;;) {
      const mail: ReceivedMail = await started().mailbox.next(to);
      if (mail.link && new URL(mail.link).pathname === pathname) return mail.link;
    }
  }

  async function signup(email: string): Promise<string> {
    const res = await api("/v1/signup", { email, password: PASSWORD });
    expect(res.status).toBe(201);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  /** A page of the test, recording which of its sub-resources (stylesheets, icon) failed. */
  async function openTab(): Promise<TestPage & { failedResources: string[] }> {
    const tab = await started().browser.openPage(started().origin);
    const failedResources: string[] = [];
    tab.page.on("response", (res) => {
      if (res.request().resourceType() !== "document" && res.status() >= 400) {
        failedResources.push(`${res.status()} ${res.url()}`);
      }
    });
    return Object.assign(tab, { failedResources });
  }

  /**
   * Nothing left the origin, no CSP violation, no console error, every stylesheet and icon
   * loaded. Chromium's console notes a page answered 400 (a refused form, a used link): that
   * status is asserted where it is expected, so the note is no error here.
   */
  function expectClean(tab: TestPage & { failedResources: string[] }) {
    expect(tab.blocked, `requests to other origins:\n${tab.blocked.join("\n")}`).toEqual([]);
    expect(tab.cspViolations, "CSP violations").toEqual([]);
    expect(tab.cspConsole, "CSP console lines").toEqual([]);
    expect(tab.failedResources, "failed sub-resources").toEqual([]);
    const documentStatus = /^Failed to load resource: the server responded with a status of 400/;
    expect(
      tab.errors.filter((e) => !documentStatus.test(e)),
      "console errors",
    ).toEqual([]);
  }

  const submitAndWait = (page: Page, submit: () => Promise<unknown>) =>
    Promise.all([page.waitForNavigation({ waitUntil: "networkidle0" }), submit()]);

  it("verify: the link's GET verifies nothing; the button (keyboard) does, and signs nobody in", async () => {
    const { origin } = started();
    const email = "ada@example.com";
    const accessToken = await signup(email);
    const link = await linkTo(email, "/verify-email");
    expect(link.startsWith(`${origin}/verify-email?token=`)).toBe(true);

    const tab = await openTab();
    const opened = await tab.page.goto(link, { waitUntil: "networkidle0" });
    expect(opened?.status()).toBe(200);
    await waitForText(tab.page, "Verify your email address");
    expect(await tab.page.title()).toBe("Verify your email address · Tessera");
    // Opening it (as a mail scanner would) verified nothing.
    expect((await me(accessToken)).email_verified).toBe(false);
    // The theme's accent reached the button through the stylesheets.
    const button = await tab.page.$eval("button", (el) => {
      const style = (globalThis as unknown as PageGlobals).getComputedStyle(el as unknown as El);
      return { backgroundColor: style.backgroundColor, color: style.color };
    });
    expect(button.backgroundColor).toBe("rgb(79, 70, 229)");
    expect(button.color).toBe("rgb(255, 255, 255)");

    // Keyboard only: Tab reaches the button, Enter sends the form.
    await tab.page.keyboard.press("Tab");
    expect(
      await tab.page.evaluate(
        () => (globalThis as unknown as PageGlobals).document.activeElement?.textContent ?? null,
      ),
    ).toBe("Verify email address");
    const [done] = await submitAndWait(tab.page, () => tab.page.keyboard.press("Enter"));
    expect(done?.status()).toBe(200);
    expect(new URL(tab.page.url()).pathname).toBe("/verify-email");
    expect(new URL(tab.page.url()).search).toBe("");
    await waitForText(tab.page, "Your email address is verified");
    expect((await me(accessToken)).email_verified).toBe(true);
    // The only cookie is the form's CSRF cookie: no session, no refresh token.
    const cookies = await tab.page.browserContext().cookies();
    expect(cookies.map((c) => c.name)).toEqual(["tessera_form"]);
    expect(cookies[0]?.httpOnly).toBe(true);
    expectClean(tab);
    await tab.page.close();
  });

  it("reset: fill the new password by its label, submit, sign in with it", async () => {
    const email = "grace@example.com";
    await signup(email);
    expect((await api("/v1/password/forgot", { email })).status).toBe(202);
    const link = await linkTo(email, "/reset-password");

    const tab = await openTab();
    expect((await tab.page.goto(link, { waitUntil: "networkidle0" }))?.status()).toBe(200);
    await waitForText(tab.page, "Choose a new password");
    // The account's address for password managers, read-only.
    const username = await tab.page.$eval("input[autocomplete=username]", (el) => ({
      name: el.getAttribute("name"),
      value: el.getAttribute("value"),
      readonly: el.getAttribute("readonly"),
    }));
    expect(username).toEqual({ name: "username", value: email, readonly: "" });

    await tab.page.locator("::-p-aria(New password)").fill(NEW_PASSWORD);
    const [done] = await submitAndWait(tab.page, () =>
      tab.page.locator("::-p-aria(Change password)").click(),
    );
    expect(done?.status()).toBe(200);
    await waitForText(tab.page, "Password changed");
    await waitForText(tab.page, "You can now sign in with it in the app.");
    expectClean(tab);
    await tab.page.close();

    expect((await api("/v1/login", { email, password: NEW_PASSWORD })).status).toBe(200);
    expect((await api("/v1/login", { email, password: PASSWORD })).status).toBe(400);
  });

  it("reset: a too-short password shows the error beside the field; the link still works", async () => {
    const email = "lin@example.com";
    await signup(email);
    expect((await api("/v1/password/forgot", { email })).status).toBe(202);
    const link = await linkTo(email, "/reset-password");

    const tab = await openTab();
    await tab.page.goto(link, { waitUntil: "networkidle0" });
    // The field has focus on arrival (autofocus): type and press Enter.
    await tab.page.keyboard.type("short");
    const [refused] = await submitAndWait(tab.page, () => tab.page.keyboard.press("Enter"));
    expect(refused?.status()).toBe(400);
    await waitForText(tab.page, "Password must be at least 8 characters");
    const field = await tab.page.evaluate(() => {
      const input = (globalThis as unknown as PageGlobals).document.getElementById("new_password");
      return {
        invalid: input?.getAttribute("aria-invalid"),
        describedBy: input?.getAttribute("aria-describedby"),
        next: input?.nextElementSibling?.id,
        nextText: input?.nextElementSibling?.textContent,
        focused: (globalThis as unknown as PageGlobals).document.activeElement?.id,
      };
    });
    expect(field).toEqual({
      invalid: "true",
      describedBy: "new_password-hint new_password-error",
      next: "new_password-error",
      nextText: "Password must be at least 8 characters",
      focused: "new_password",
    });
    expect((await api("/v1/login", { email, password: PASSWORD })).status).toBe(200);

    // The same form, corrected, works: the link was not used.
    await tab.page.locator("::-p-aria(New password)").fill(NEW_PASSWORD);
    await submitAndWait(tab.page, () => tab.page.locator("::-p-aria(Change password)").click());
    await waitForText(tab.page, "Password changed");
    expectClean(tab);
    await tab.page.close();
    expect((await api("/v1/login", { email, password: NEW_PASSWORD })).status).toBe(200);

    // Now it is used: the link shows the error page.
    const again = await openTab();
    expect((await again.page.goto(link, { waitUntil: "networkidle0" }))?.status()).toBe(400);
    await waitForText(again.page, "This link is no longer valid");
    expectClean(again);
    await again.page.close();
  });

  it("reads on a 360 px phone without horizontal scrolling, and in dark mode", async () => {
    const email = "a.very.long.address.for.a.narrow.screen@subdomain.example.com";
    await signup(email);
    await api("/v1/password/forgot", { email });
    const link = await linkTo(email, "/reset-password");

    const tab = await openTab();
    await tab.page.setViewport({ width: 360, height: 740, isMobile: true, hasTouch: true });
    await tab.page.goto(link, { waitUntil: "networkidle0" });
    await tab.page.keyboard.type("short");
    await submitAndWait(tab.page, () => tab.page.keyboard.press("Enter"));
    await waitForText(tab.page, "Password must be at least 8 characters");
    const width = await tab.page.evaluate(
      () => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth,
    );
    expect(width).toBeLessThanOrEqual(360);

    const background = () =>
      tab.page.evaluate(
        () =>
          (globalThis as unknown as PageGlobals).getComputedStyle(
            (globalThis as unknown as PageGlobals).document.body,
          ).backgroundColor,
      );
    const light = await background();
    await tab.page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
    const dark = await background();
    expect(light).toBe("rgb(243, 244, 247)");
    expect(dark).toBe("rgb(12, 15, 21)");
    expectClean(tab);
    await tab.page.close();
  });
});
