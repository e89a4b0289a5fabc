import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIOME = join(ROOT, "node_modules/@biomejs/biome/bin/biome");
const run = promisify(execFile);

/**
 * The layer map (docs/design/layers.md) is enforced by Biome `noRestrictedImports` overrides
 * in biome.json. Each probe is a one-line module placed where the rule applies, in a copy of
 * the project's biome.json, so a wrong import must fail `biome lint` and a right one pass.
 */
const PROBES: Array<{ file: string; source: string; allowed: boolean }> = [
  { file: "src/tokens/probe.ts", source: 'import "../clients/client-store.ts";', allowed: false },
  { file: "src/tokens/probe.ts", source: 'import "../users/users.ts";', allowed: false },
  { file: "src/tokens/probe.ts", source: 'import "../deps.ts";', allowed: false },
  { file: "src/tokens/probe.ts", source: 'import "../sessions/find-session.ts";', allowed: true },
  { file: "src/sessions/probe.ts", source: 'import "hono";', allowed: false },
  { file: "src/passwords/probe.ts", source: 'import "../http/api-error.ts";', allowed: false },
  { file: "src/rate-limits/probe.ts", source: 'import "../routes/auth.ts";', allowed: false },
  { file: "src/keys/probe.ts", source: 'import "../db/schema.ts";', allowed: true },
  { file: "src/oauth/probe.ts", source: 'import "hono/cookie";', allowed: false },
  { file: "src/oauth/probe.ts", source: 'import "../clients/client.ts";', allowed: true },
  { file: "src/sso/probe.ts", source: 'import "../http/api-error.ts";', allowed: false },
  { file: "src/email/probe.ts", source: 'import "../routes/auth.ts";', allowed: false },
  { file: "src/challenges/probe.ts", source: 'import "../deps.ts";', allowed: false },
  { file: "src/lib/probe.ts", source: 'import "../config.ts";', allowed: false },
  { file: "src/lib/probe.ts", source: 'import "hono/factory";', allowed: false },
  { file: "src/lib/probe.ts", source: 'import "./random-id.ts";', allowed: true },
  { file: "src/db/probe.ts", source: 'import "../sessions/find-session.ts";', allowed: false },
  { file: "src/http/probe.ts", source: 'import "../routes/me.ts";', allowed: false },
  { file: "src/http/probe.ts", source: 'import "../tokens/access-token.ts";', allowed: true },
  { file: "src/http/probe.ts", source: 'import "../pages/layout.tsx";', allowed: false },
  { file: "src/pages/probe.tsx", source: 'import "../routes/pages.tsx";', allowed: false },
  { file: "src/pages/probe.tsx", source: 'import "../app.ts";', allowed: false },
  { file: "src/pages/probe.tsx", source: 'import "../http/form-csrf.ts";', allowed: true },
  { file: "src/pages/probe.tsx", source: 'import "hono/jsx";', allowed: true },
  { file: "src/users/probe.ts", source: 'import "../pages/layout.tsx";', allowed: false },
  { file: "src/providers/probe.ts", source: 'import "hono";', allowed: false },
  { file: "src/providers/probe.ts", source: 'import "../http/api-error.ts";', allowed: false },
  { file: "src/providers/probe.ts", source: 'import "node:crypto";', allowed: false },
  { file: "src/providers/probe.ts", source: 'import "oauth4webapi";', allowed: true },
  { file: "src/providers/probe.test.ts", source: 'import "node:http";', allowed: true },
  { file: "src/identities/probe.ts", source: 'import "../routes/identities.ts";', allowed: false },
  { file: "src/identities/probe.ts", source: 'import "../deps.ts";', allowed: false },
  { file: "src/identities/probe.ts", source: 'import "../providers/provider.ts";', allowed: true },
  {
    file: "packages/verify/src/probe.ts",
    source: 'import "../../../src/config.ts";',
    allowed: false,
  },
  { file: "packages/verify/src/probe.ts", source: 'import "drizzle-orm";', allowed: false },
  { file: "packages/verify/src/probe.ts", source: 'import "jose";', allowed: true },
];

describe("the import-boundary rule (biome.json noRestrictedImports)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tessera-layers-"));
    await copyFile(join(ROOT, "biome.json"), join(dir, "biome.json"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(PROBES)("$file: $source → allowed: $allowed", async ({ file, source, allowed }) => {
    const path = join(dir, file);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${source}\n`);
    try {
      const result = await run(process.execPath, [BIOME, "lint", "--max-diagnostics=5", file], {
        cwd: dir,
      }).then(
        () => ({ failed: false, output: "" }),
        (error: { stdout?: string; stderr?: string }) => ({
          failed: true,
          output: `${error.stdout ?? ""}${error.stderr ?? ""}`,
        }),
      );
      expect(result.failed, result.output).toBe(!allowed);
      if (!allowed) expect(result.output).toContain("Layer rule");
    } finally {
      await rm(path, { force: true });
    }
  });
});
