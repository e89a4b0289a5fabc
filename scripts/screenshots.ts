// `npm run screenshots`: starts the built Node server on a fresh temp database, opens its pages
// in headless Chromium through the browser test harness (other origins blocked) and saves PNGs
// under docs/screenshots/. Add a page to PAGES to add a screenshot.
import { fileURLToPath } from "node:url";
import type { Page } from "puppeteer-core";
import { launchBrowser, screenshot, waitForText } from "../tests/browser/harness.ts";
import { startServer } from "../tests/browser/server.ts";

const OUT = fileURLToPath(new URL("../docs/screenshots/", import.meta.url));

type Shot = { file: `${string}.png`; path: string; ready: (page: Page) => Promise<unknown> };

const PAGES: Shot[] = [
  {
    file: "api-reference.png",
    path: "/docs",
    ready: (page) => waitForText(page, "Create an account and a session"),
  },
];

// The documented default issuer, so the pictures show the URLs the README uses.
const server = await startServer({ ISSUER: "http://localhost:8787" });
const browser = await launchBrowser().catch(async (error: unknown) => {
  await server.close();
  throw error;
});
try {
  for (const shot of PAGES) {
    const tab = await browser.openPage(server.url);
    await tab.page.goto(`${server.url}${shot.path}`, { waitUntil: "networkidle0" });
    await shot.ready(tab.page);
    if (tab.blocked.length > 0) {
      throw new Error(`${shot.path} reached out:\n${tab.blocked.join("\n")}`);
    }
    await screenshot(tab.page, `${OUT}${shot.file}`);
    console.log(`docs/screenshots/${shot.file}`);
    await tab.page.close();
  }
} finally {
  await browser.close();
  await server.close();
}
