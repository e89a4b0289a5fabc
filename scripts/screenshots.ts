// `npm run screenshots`: starts the built Node server on a fresh temp database, opens its pages
// in headless Chromium through the browser test harness (other origins blocked) and saves PNGs
// under docs/screenshots/. Add a page to PAGES to add a screenshot.
import { fileURLToPath } from "node:url";
import type { Page } from "puppeteer-core";
import { launchBrowser, screenshot, waitForText } from "../tests/browser/harness.ts";
import { startServer } from "../tests/browser/server.ts";

const OUT = fileURLToPath(new URL("../docs/screenshots/", import.meta.url));

type Shot = {
  file: `${string}.png`;
  /** The path to open; a hosted page's comes from an emailed link, made on first use. */
  path: string | (() => Promise<string>);
  /** What to do on the page before the picture (e.g. submit a form). */
  act?: (page: Page) => Promise<unknown>;
  ready: (page: Page) => Promise<unknown>;
  /** A 360 px phone (2× pixels) instead of a 1280×800 desktop window. */
  phone?: boolean;
  dark?: boolean;
};

// The documented default issuer, so the pictures show the URLs the README uses.
const server = await startServer({ ISSUER: "http://localhost:8787" });

const EMAIL = "ada@example.com";

/**
 * The path of the newest `kind` link sent to {@link EMAIL} (the log transport's development
 * outbox), after `send` asked for it. A link is only read by these GETs, so all its shots
 * share it.
 */
function emailedLink(kind: string, send: () => Promise<Response>): () => Promise<string> {
  let path: Promise<string> | undefined;
  const find = async () => {
    const sent = await send();
    if (!sent.ok) throw new Error(`sending ${kind}: ${sent.status} ${await sent.text()}`);
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${server.url}/dev/outbox?to=${EMAIL}`);
      const { messages } = (await res.json()) as { messages: { kind: string; link?: string }[] };
      const link = messages.find((m) => m.kind === kind)?.link;
      if (link) return `${new URL(link).pathname}${new URL(link).search}`;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no ${kind} message in the outbox`);
  };
  return () => {
    path ??= find();
    return path;
  };
}

const post = (path: string, body: unknown) =>
  fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });

const verifyLink = emailedLink("verify_email", () =>
  post("/v1/signup", { email: EMAIL, password: "correct horse battery staple" }),
);
const resetLink = emailedLink("reset_password", async () => {
  await verifyLink(); // the account exists
  return post("/v1/password/forgot", { email: EMAIL });
});

/** The reset form sent with a password the policy refuses: the error beside the field. */
const submitShortPassword = async (page: Page) => {
  await page.locator("::-p-aria(New password)").fill("short");
  await Promise.all([
    page.waitForNavigation({ waitUntil: "networkidle0" }),
    page.locator("::-p-aria(Change password)").click(),
  ]);
};

const PAGES: Shot[] = [
  {
    file: "api-reference.png",
    path: "/docs",
    ready: (page) => waitForText(page, "Create an account and a session"),
  },
  ...(["", "-phone"] as const).flatMap((suffix): Shot[] => {
    const phone = suffix === "-phone";
    return [
      {
        file: `verify-email${suffix}.png`,
        path: verifyLink,
        ready: (page) => waitForText(page, "Verify email address"),
        phone,
      },
      {
        file: `reset-password${suffix}.png`,
        path: resetLink,
        ready: (page) => waitForText(page, "Choose a new password"),
        phone,
      },
      {
        file: `reset-password-error${suffix}.png`,
        path: resetLink,
        act: submitShortPassword,
        ready: (page) => waitForText(page, "Password must be at least"),
        phone,
      },
    ];
  }),
  {
    file: "reset-password-error-dark.png",
    path: resetLink,
    act: submitShortPassword,
    ready: (page) => waitForText(page, "Password must be at least"),
    dark: true,
  },
];

async function take(shot: Shot) {
  const tab = await browser.openPage(server.url);
  if (shot.phone) {
    await tab.page.setViewport({
      width: 360,
      height: 740,
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
  }
  if (shot.dark) {
    await tab.page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
  }
  const path = typeof shot.path === "string" ? shot.path : await shot.path();
  await tab.page.goto(`${server.url}${path}`, { waitUntil: "networkidle0" });
  await shot.act?.(tab.page);
  await shot.ready(tab.page);
  if (tab.blocked.length > 0) {
    throw new Error(`${path} reached out:\n${tab.blocked.join("\n")}`);
  }
  await screenshot(tab.page, `${OUT}${shot.file}`);
  console.log(`docs/screenshots/${shot.file}`);
  await tab.page.close();
}

const browser = await launchBrowser().catch(async (error: unknown) => {
  await server.close();
  throw error;
});
try {
  for (const shot of PAGES) await take(shot);
} finally {
  await browser.close();
  await server.close();
}
