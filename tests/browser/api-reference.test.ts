import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CspViolation, launchBrowser, type TestBrowser, waitForText } from "./harness.ts";
import { type RunningServer, startServer } from "./server.ts";

const BUNDLE = "/docs/assets/api-reference.js";

/**
 * What @scalar/api-reference 1.46.4 does that the policy blocks, none with a visible effect
 * (docs/decisions.md, "API reference page"). Anything else fails the test.
 */
const KNOWN_SCALAR_VIOLATIONS: Array<{ why: string; matches: (v: CspViolation) => boolean }> = [
  {
    why: "zod's feature probe `new Function('')` in a try/catch; zod then validates without eval",
    matches: (v) => v.directive === "script-src" && v.blocked === "eval",
  },
  {
    why: 'code blocks arrive as HTML with style="--line-count: N; --line-digits: D;" (line-number width)',
    matches: (v) =>
      v.directive === "style-src-attr" && /^--line-count: \d+; --line-digits: \d+;$/.test(v.sample),
  },
  {
    why: "a scrollbar-width probe sets a style attribute with setAttribute",
    matches: (v) =>
      v.directive === "style-src-attr" &&
      ["width:30px;height:30px;overflow-y:scroll", "width:100%;height:40px"].includes(v.sample),
  },
];

const fromBundle = (v: CspViolation, origin: string) => v.source.startsWith(`${origin}${BUNDLE}:`);

describe("GET /docs in Chromium: self-hosted, other origins blocked, strict CSP", () => {
  let server: RunningServer | undefined;
  let browser: TestBrowser | undefined;

  beforeAll(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("renders the operations from same-origin files, with no unexpected CSP violation", async () => {
    if (!server || !browser) throw new Error("not started");
    const origin = server.url;
    const doc = (await (await fetch(`${origin}/openapi.json`)).json()) as {
      paths: Record<string, { post: { summary: string } }>;
    };
    const tab = await browser.openPage(origin);

    const res = await tab.page.goto(`${origin}/docs`, { waitUntil: "networkidle0" });
    expect(res?.status()).toBe(200);
    // The summaries Scalar shows for the operations: the first tag is open, OAuth 2.0 is opened.
    await waitForText(tab.page, doc.paths["/v1/signup"]?.post.summary as string);
    await tab.page.locator("aside ::-p-text(OAuth 2.0)").click();
    await waitForText(tab.page, doc.paths["/oauth/token"]?.post.summary as string);

    expect(tab.blocked, `requests to other origins:\n${tab.blocked.join("\n")}`).toEqual([]);
    const unexpected = tab.cspViolations.filter(
      (v) => !(fromBundle(v, origin) && KNOWN_SCALAR_VIOLATIONS.some((k) => k.matches(v))),
    );
    expect(unexpected, "CSP violations").toEqual([]);
    // Chromium's own CSP console lines: only the inline-style reports of the violations above
    // (no other violation, no policy it failed to parse).
    expect(tab.cspConsole.filter((line) => !line.startsWith("Applying inline style"))).toEqual([]);
    expect(tab.errors, "console errors").toEqual([]);
  });

  it("serves the page under the strict policy, with a fresh nonce each time", async () => {
    if (!server) throw new Error("not started");
    const [a, b] = await Promise.all([fetch(`${server.url}/docs`), fetch(`${server.url}/docs`)]);
    const csp = a.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toMatch(
      /^default-src 'none'; script-src 'self'; style-src 'self' 'nonce-[\w+/]{22}==' 'report-sample'; connect-src 'self'; img-src 'self' data:; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'$/,
    );
    expect(b.headers.get("Content-Security-Policy")).not.toBe(csp);
    expect(a.headers.get("Cache-Control")).toBe("no-store");
    // No inline script: each <script> loads a same-origin file or is inert JSON data.
    const html = await a.text();
    expect(html).not.toMatch(/https?:/);
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) {
      expect(tag).toMatch(/ src="\/docs\/assets\/[\w-]+\.js"| type="application\/json"/);
    }
  });

  it("serves the page's files from dist/static with the app's headers, nothing else", async () => {
    if (!server) throw new Error("not started");
    const bundle = await fetch(`${server.url}${BUNDLE}`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get("Content-Type")).toBe("text/javascript; charset=utf-8");
    expect(bundle.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(bundle.headers.get("Content-Security-Policy")).toBe("frame-ancestors 'none'");
    expect(await bundle.text()).toContain("@scalar/api-reference 1.46.4");
    const etag = bundle.headers.get("ETag") as string;
    const again = await fetch(`${server.url}${BUNDLE}`, { headers: { "If-None-Match": etag } });
    expect(again.status).toBe(304);
    for (const path of [
      "/docs/assets/missing.js",
      "/docs/assets/%2e%2e/%2e%2e/node.js",
      "/docs/assets/..%2f..%2f..%2fnode.js",
      "/docs/assets/",
    ]) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.json(), path).toMatchObject({ error: "not_found" });
    }
  });
});
