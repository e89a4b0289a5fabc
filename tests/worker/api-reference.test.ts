import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { randomSecret } from "../../src/lib/random-id.ts";
import worker from "../../src/worker.ts";

async function call(path: string) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://localhost${path}`) as Request<unknown, IncomingRequestCfProperties>,
    { ...env, TESSERA_SECRET: randomSecret(), LOG_LEVEL: "silent" },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("the API reference on Workers", () => {
  it("serves the page, and its files through the ASSETS binding (dist/static)", async () => {
    const page = await call("/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("Content-Security-Policy")).toMatch(
      /^default-src 'none'; script-src 'self';/,
    );
    await page.text();

    const bundle = await call("/docs/assets/api-reference.js");
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get("Content-Type")).toMatch(/^text\/javascript/);
    expect(bundle.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(await bundle.text()).toContain("@scalar/api-reference 1.46.4");

    const missing = await call("/docs/assets/missing.js");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: "not_found" });
  });
});
