/**
 * Headless Chromium (Debian's `chromium` package) for tests and screenshots: pages that may
 * reach one origin only, with every request elsewhere blocked and recorded, and console errors
 * and Content-Security-Policy violations collected.
 *
 *   const browser = await launchBrowser();
 *   try {
 *     const tab = await browser.openPage(server.url);
 *     await tab.page.goto(`${server.url}/docs`);
 *     await waitForText(tab.page, "Create an account");
 *     expect(tab.blocked).toEqual([]);
 *   } finally {
 *     await browser.close();
 *   }
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import puppeteer, { type Page } from "puppeteer-core";

export const CHROMIUM = "/usr/bin/chromium";
/** Exactly these flags (no Puppeteer defaults), plus a fresh --user-data-dir. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A CSP violation as the page's `securitypolicyviolation` event reported it. */
export type CspViolation = {
  /** The effective directive, e.g. `style-src-attr`. */
  directive: string;
  /** `inline`, `eval` or the blocked URL. */
  blocked: string;
  /** Where it happened: `URL:line`. */
  source: string;
  /** The start of the blocked code, when the policy has 'report-sample'. */
  sample: string;
};

/** A page and what happened on it so far. */
export type TestPage = {
  page: Page;
  /** URLs of requests to any other origin, aborted before they left the browser. */
  blocked: string[];
  /** CSP violations, from the page's `securitypolicyviolation` events (every one fires one). */
  cspViolations: CspViolation[];
  /** Chromium's console lines about CSP (violations, and policy parse warnings). */
  cspConsole: string[];
  /** Other console errors, and uncaught exceptions. */
  errors: string[];
};

export type TestBrowser = {
  /**
   * A new page (1280×800) that may load from `origin` only (and data:/blob: URLs).
   * `navigations`: other origins the page may navigate to (top-level documents only, e.g. a
   * client's redirect URI); their sub-resources are still blocked and recorded.
   */
  openPage(origin: string, options?: { navigations?: readonly string[] }): Promise<TestPage>;
  /** Closes Chromium and removes its profile; safe to call more than once. */
  close(): Promise<void>;
};

/**
 * The page globals the functions run in the page use. The project's TypeScript has no DOM
 * library (the app targets Node and Workers), so they are typed here, by cast.
 */
type PageGlobals = {
  document: {
    body: { innerText: string };
    fonts: { ready: Promise<unknown> };
    addEventListener(
      type: "securitypolicyviolation",
      listener: (e: {
        effectiveDirective: string;
        blockedURI: string;
        sourceFile: string;
        lineNumber: number;
        sample: string;
      }) => void,
    ): void;
  };
  __tesseraCspViolation?: (violation: CspViolation) => void;
};

const CSP_CONSOLE =
  /Content Security Policy|Refused to (load|execute|apply|evaluate|connect|frame)/;

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), "tessera-chromium-"));
  const browser = await puppeteer
    .launch({
      executablePath: CHROMIUM,
      ignoreDefaultArgs: true,
      args: [...CHROMIUM_ARGS, `--user-data-dir=${profile}`],
    })
    .catch(async (error: unknown) => {
      await rm(profile, { recursive: true, force: true });
      throw error;
    });
  let closed: Promise<void> | undefined;
  return {
    async openPage(origin, options = {}) {
      const allowed = new URL(origin).origin;
      const navigations = new Set((options.navigations ?? []).map((o) => new URL(o).origin));
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 800 });
      const tab: TestPage = { page, blocked: [], cspViolations: [], cspConsole: [], errors: [] };

      await page.setRequestInterception(true);
      page.on("request", (request) => {
        if (request.isInterceptResolutionHandled()) return;
        const url = new URL(request.url());
        const navigation =
          navigations.has(url.origin) &&
          request.isNavigationRequest() &&
          request.frame() === page.mainFrame();
        if (
          url.origin === allowed ||
          navigation ||
          url.protocol === "data:" ||
          url.protocol === "blob:"
        ) {
          void request.continue();
        } else {
          tab.blocked.push(request.url());
          void request.abort("blockedbyclient");
        }
      });
      page.on("console", (message) => {
        const text = message.text();
        if (CSP_CONSOLE.test(text)) tab.cspConsole.push(text);
        else if (message.type() === "error") tab.errors.push(text);
      });
      page.on("pageerror", (error) => {
        tab.errors.push(error instanceof Error ? error.message : String(error));
      });
      // Reported from the page itself: an exposed function survives navigations and the CSP.
      await page.exposeFunction("__tesseraCspViolation", (violation: CspViolation) => {
        tab.cspViolations.push(violation);
      });
      await page.evaluateOnNewDocument(() => {
        const page = globalThis as unknown as PageGlobals;
        page.document.addEventListener("securitypolicyviolation", (e) => {
          page.__tesseraCspViolation?.({
            directive: e.effectiveDirective,
            blocked: e.blockedURI,
            source: `${e.sourceFile}:${e.lineNumber}`,
            sample: e.sample,
          });
        });
      });
      return tab;
    },
    close() {
      closed ??= browser
        .close()
        .finally(() => rm(profile, { recursive: true, force: true, maxRetries: 3 }));
      return closed;
    },
  };
}

/** Waits until `text` is part of what the page shows (rendered text, not hidden nodes). */
export async function waitForText(page: Page, text: string, timeout = 20_000): Promise<void> {
  await page.waitForFunction(
    // biome-ignore lint/performance/useDomNodeTextContent: rendered text is the point
    (t) => (globalThis as unknown as PageGlobals).document.body.innerText.includes(t),
    { timeout },
    text,
  );
}

/** Saves a PNG of what the page shows (the viewport) once fonts are in, creating the directory. */
export async function screenshot(page: Page, file: `${string}.png`): Promise<void> {
  await page.evaluate(async () => {
    await (globalThis as unknown as PageGlobals).document.fonts.ready;
  });
  await mkdir(dirname(file), { recursive: true });
  await page.screenshot({ path: file, type: "png" });
}
