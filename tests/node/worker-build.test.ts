import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient } from "@libsql/client";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { createPasswordHasher } from "../../src/passwords/hasher.ts";
import { tempDir } from "../harness/temp-dir.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WRANGLER = createRequire(import.meta.url).resolve("wrangler/bin/wrangler.js");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };

/**
 * Recorded in README: the gzip size of `wrangler deploy --dry-run` must stay under this — the
 * design budget (social sign-in brought oauth4webapi and the provider code: ~10 KiB gzip).
 */
const BUNDLE_BUDGET_GZIP_KIB = 300;

describe("Workers bundle (wrangler deploy --dry-run)", () => {
  it(`builds within ${BUNDLE_BUDGET_GZIP_KIB} KiB gzip and imports no Node-only module but node:crypto and node:buffer`, async () => {
    const outdir = await tempDir("tessera-bundle-");
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [WRANGLER, "deploy", "--dry-run", "--outdir", outdir],
      { cwd: ROOT, env },
    );
    const match = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(stdout);
    expect(match, stdout).toBeTruthy();
    const gzipKiB = Number(match?.[2]);
    console.log(`worker bundle: ${match?.[1]} KiB, gzip ${gzipKiB} KiB`);
    expect(gzipKiB).toBeLessThanOrEqual(BUNDLE_BUDGET_GZIP_KIB);
    const bundle = await readFile(join(outdir, "worker.js"), "utf8");
    const nodeImports = new Set(bundle.match(/["']node:[a-z_/]+["']/g) ?? []);
    // hono/jsx (the hosted pages) looks AsyncLocalStorage up at run time, in a try:
    // `process.getBuiltinModule?.("node:async_hooks")` (workerd has it under nodejs_compat).
    // A probe, never an import.
    expect(bundle).not.toMatch(/(from|import|require\()\s*["']node:async_hooks["']/);
    nodeImports.delete('"node:async_hooks"');
    // node:crypto (HMAC, scrypt) and node:buffer (base64url), both native in workerd under
    // nodejs_compat.
    expect([...nodeImports].map((s) => s.slice(1, -1)).sort()).toEqual([
      "node:buffer",
      "node:crypto",
    ]);
    // The native libSQL driver must not be there (only the web client).
    expect(
      /(from|require\()\s*["'](libsql|@libsql\/[a-z-]+-(x64|arm64)[^"']*)["']/.test(bundle),
    ).toBe(false);
  });
});

describe("npm run dev:worker (wrangler dev, local D1)", () => {
  let child: ChildProcess;
  let persist: string;
  let base: string;
  let output = "";

  beforeAll(async () => {
    persist = await mkdtemp(join(tmpdir(), "tessera-wrangler-"));
    const port = 20000 + Math.floor(Math.random() * 20000);
    base = `http://127.0.0.1:${port}`;
    child = spawn(
      process.execPath,
      [
        join(ROOT, "scripts/dev-worker.mjs"),
        "--port",
        String(port),
        "--ip",
        "127.0.0.1",
        "--persist-to",
        persist,
        "--var",
        `ISSUER:${base}`,
        "--var",
        "REFRESH_REUSE_GRACE:0",
      ],
      { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`wrangler dev did not start:\n${output}`)),
        60_000,
      );
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready on")) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.on("exit", (code) => reject(new Error(`exited ${code}:\n${output}`)));
    });
  }, 90_000);

  afterAll(async () => {
    if (child?.pid) process.kill(-child.pid, "SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    await rm(persist, { recursive: true, force: true });
  });

  it("walks signup → refresh → verify against its JWKS, with --var reaching the Worker", async () => {
    const email = `wrangler.${Date.now()}@example.com`;
    const signup = await fetch(`${base}/v1/signup`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password: "pässwörd made in workerd" }),
    });
    expect(signup.status).toBe(201);
    const first = (await signup.json()) as { refresh_token: string };
    const refreshed = await fetch(`${base}/oauth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: first.refresh_token,
      }),
    });
    expect(refreshed.status).toBe(200);
    const { access_token } = (await refreshed.json()) as { access_token: string };
    const { payload } = await jwtVerify(
      access_token,
      createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`)),
      { issuer: base, audience: base, typ: "at+jwt" },
    );
    expect(payload.iss).toBe(base);
    // REFRESH_REUSE_GRACE:0 given with --var: an immediate replay is reuse, not convergence.
    const replay = await fetch(`${base}/oauth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: first.refresh_token,
      }),
    });
    expect(replay.status).toBe(400);

    // The hash workerd wrote to D1 verifies with the Node hasher (same PHC format).
    const { readdir } = await import("node:fs/promises");
    const d1Dir = join(persist, "v3/d1/miniflare-D1DatabaseObject");
    const file = (await readdir(d1Dir)).find(
      (f) => f.endsWith(".sqlite") && f !== "metadata.sqlite",
    );
    const client = createClient({ url: `file:${join(d1Dir, file as string)}` });
    onTestFinished(() => client.close());
    const { rows } = await client.execute({
      sql: "SELECT password_hash FROM users WHERE email = ?",
      args: [email],
    });
    const phc = String(rows[0]?.password_hash);
    expect(phc).toMatch(/^\$scrypt\$ln=14,r=8,p=5\$/);
    expect(await createPasswordHasher().verify("pässwörd made in workerd", phc)).toEqual({
      valid: true,
      needsRehash: false,
    });
  });
});
