import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { randomSecret } from "../../src/lib/random-id.ts";
import { PAGE_CSP } from "../../src/pages/render.ts";
import worker from "../../src/worker.ts";

const secret = randomSecret();

async function call(path: string) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://localhost${path}`) as Request<unknown, IncomingRequestCfProperties>,
    { ...env, TESSERA_SECRET: secret, LOG_LEVEL: "silent", ACCENT_COLOR: "#0a7cff" },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("the hosted pages on Workers", () => {
  it("render (hono/jsx) under the page policy, with their assets from ASSETS and config", async () => {
    const page = await call(`/reset-password?token=${"A".repeat(43)}`);
    expect(page.status).toBe(400);
    expect(page.headers.get("Content-Security-Policy")).toBe(PAGE_CSP);
    const html = await page.text();
    expect(html).toMatch(/^<!doctype html><html lang="en">/);
    expect(html).toContain("<h1>This link is no longer valid</h1>");

    const css = await call("/assets/pages.css");
    expect(css.status).toBe(200);
    expect(css.headers.get("Content-Type")).toMatch(/^text\/css/);
    expect(await css.text()).toContain("prefers-color-scheme: dark");

    const theme = await call("/assets/theme.css");
    expect(await theme.text()).toContain("--accent: #0a7cff;");

    const missing = await call("/assets/missing.css");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: "not_found" });
  });
});
