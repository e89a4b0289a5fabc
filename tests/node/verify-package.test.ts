import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * `@tessera/verify` as a user gets it: `npm pack` of packages/verify, installed from the
 * tarball into throwaway consumer projects with `npm install` (jose comes from the npm
 * cache/registry, as in a user's install), then used from plain Node and from TypeScript.
 * The build itself is `npm run build:verify` (run by `npm test` and by the global setup).
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PACKAGE = join(ROOT, "packages/verify");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
/** The optional peer the TypeScript consumer installs for the Hono middleware types. */
const HONO = "hono@4.13.19";
const run = promisify(execFile);

/**
 * The environment for npm in a consumer project: without the `npm_*` variables of an
 * enclosing `npm test` (its `local_prefix`, package, lifecycle and workspace settings would
 * point npm back at this repository), keeping only where the cache, config and registry are.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = /^npm_config_(cache|userconfig|globalconfig|registry|cafile|(https?_|no)?proxy)$/i;
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) || keep.test(name)),
  );
}

const npm = (args: string[], cwd: string) =>
  run("npm", args, { cwd, env: npmEnv(), maxBuffer: 16 * 1024 * 1024 });

/** Every file under `dir`, relative to it, with `/` separators. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .map((file) => file.split("\\").join("/"))
    .sort();
}

// What another service writes: plain Node, no TypeScript, the package name only.
const CONSUMER_SCRIPT = `
import { createVerifier, requireScope, tesseraAuth, TesseraVerifyError } from "@tessera/verify";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
const issuer = "https://auth.example.com";
const { privateKey, publicKey } = await generateKeyPair("EdDSA");
const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "EdDSA", use: "sig" };
const fetch = async (url) =>
  url === issuer + "/.well-known/oauth-authorization-server"
    ? Response.json({ issuer, jwks_uri: issuer + "/jwks" })
    : Response.json({ keys: [jwk] });
const token = await new SignJWT({ client_id: "first-party" })
  .setProtectedHeader({ alg: "EdDSA", kid: "k1", typ: "at+jwt" })
  .setIssuer(issuer).setAudience("api").setSubject("u1").setIssuedAt().setExpirationTime("5m")
  .setJti("j1").sign(privateKey);
const claims = await createVerifier({ issuer, audience: "api", fetch }).verify(token);
const refused = await createVerifier({ issuer, audience: "other", fetch }).verify(token).catch((e) => e);
console.log(JSON.stringify({
  resolved: import.meta.resolve("@tessera/verify"),
  jose: import.meta.resolve("jose"),
  sub: claims.sub,
  refused: [refused instanceof TesseraVerifyError, refused.name, refused.code],
  middleware: [typeof tesseraAuth({ issuer, audience: "api", fetch }), typeof requireScope("read")],
}));
`;

// A TypeScript consumer type-checks against the installed declarations only.
const CONSUMER_TS = `
import { Hono } from "hono";
import {
  createVerifier,
  requireScope,
  tesseraAuth,
  type TesseraClaims,
  type TesseraEnv,
  TesseraVerifyError,
  type TesseraVerifyErrorCode,
} from "@tessera/verify";
const verifier = createVerifier({ issuer: "https://auth.example.com", audience: "api" });
export const app = new Hono<TesseraEnv>()
  .use("/api/*", tesseraAuth(verifier))
  .get("/api/orders", requireScope("orders:read"), (c) => c.text(c.var.tessera.sub));
export const other = new Hono<TesseraEnv>().use(
  tesseraAuth({ issuer: "https://auth.example.com", audience: ["api", "admin"] }),
);
export async function check(token: string): Promise<string> {
  try {
    const claims: TesseraClaims = await verifier.verify(token);
    const sid: string | undefined = claims.sid;
    return claims.client_id + (sid ?? "");
  } catch (error) {
    if (error instanceof TesseraVerifyError && error.code === "token_expired") return "expired";
    throw error;
  }
}
// The declarations are precise: these must be errors.
// @ts-expect-error: not an error code
export const code: TesseraVerifyErrorCode = "expired";
// @ts-expect-error: the issuer is required
createVerifier({ audience: "api" });
`;

describe("@tessera/verify as an npm package", () => {
  let work: string;
  let tarball: string;
  let packed: string[];
  let jsConsumer: string;
  let tsConsumer: string;

  beforeAll(async () => {
    work = await realpath(await mkdtemp(join(tmpdir(), "tessera-verify-package-")));
    const { stdout } = await npm(["pack", PACKAGE, "--json", "--pack-destination", work], ROOT);
    const [result] = JSON.parse(stdout) as Array<{ filename: string; files: { path: string }[] }>;
    if (!result) throw new Error(`npm pack printed no result: ${stdout}`);
    tarball = join(work, result.filename);
    packed = result.files.map((file) => file.path).sort();
    jsConsumer = join(work, "js-consumer");
    tsConsumer = join(work, "ts-consumer");
    const install = async (dir: string, specs: string[]) => {
      await mkdir(dir);
      await writeFile(
        join(dir, "package.json"),
        `${JSON.stringify({ name: "consumer", private: true, type: "module" })}\n`,
      );
      await npm(["install", "--prefer-offline", "--no-audit", "--no-fund", ...specs], dir);
    };
    await Promise.all([
      // Plain Node: the tarball alone (hono is an optional peer and stays uninstalled).
      install(jsConsumer, [tarball]),
      install(tsConsumer, [tarball, HONO]),
      // The current sources compiled afresh, to compare with what was packed.
      run(process.execPath, [
        TSC,
        "-p",
        join(PACKAGE, "tsconfig.json"),
        "--outDir",
        join(work, "fresh"),
      ]),
    ]);
  }, 120_000);
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("plain node imports @tessera/verify from the installed tarball and verifies a token", async () => {
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", CONSUMER_SCRIPT], {
      cwd: jsConsumer,
    });
    const installed = join(jsConsumer, "node_modules");
    expect(JSON.parse(stdout)).toEqual({
      resolved: pathToFileURL(join(installed, "@tessera/verify/dist/index.js")).href,
      jose: expect.stringContaining(pathToFileURL(join(installed, "jose/")).href),
      sub: "u1",
      refused: [true, "TesseraVerifyError", "invalid_audience"],
      middleware: ["function", "function"],
    });
    // A copy, not a link into this repository; jose at the version the package names.
    const manifest = JSON.parse(
      await readFile(join(installed, "@tessera/verify/package.json"), "utf8"),
    ) as { dependencies: Record<string, string> };
    const jose = JSON.parse(await readFile(join(installed, "jose/package.json"), "utf8"));
    expect(jose.version).toBe(manifest.dependencies.jose);
    // The optional peer was not pulled in: the middleware above ran without hono.
    expect(existsSync(join(installed, "hono"))).toBe(false);
  });

  it('a TypeScript consumer (nodenext, strict, --types "") type-checks against the installed .d.ts', async () => {
    await writeFile(join(tsConsumer, "consumer.ts"), CONSUMER_TS);
    const args = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext"];
    const result = await run(
      process.execPath,
      [TSC, ...args, "--target", "es2022", "--lib", "es2022,dom", "--types", "", "consumer.ts"],
      { cwd: tsConsumer },
    ).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code?: number | string; stdout?: string }) => error,
    );
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 0, stdout: "" });
  });

  it("the tarball has dist JS, .d.ts and .d.ts.map for every source, package.json, README and LICENSE", async () => {
    for (const file of [
      "package.json",
      "README.md",
      "LICENSE",
      "dist/index.js",
      "dist/index.d.ts",
    ]) {
      expect(packed).toContain(file);
    }
    const sources = (await filesUnder(join(PACKAGE, "src"))).filter(
      (file) => file.endsWith(".ts") && !file.endsWith(".test.ts"),
    );
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) {
      const base = `dist/${source.replace(/\.ts$/, "")}`;
      for (const ext of [".js", ".d.ts", ".d.ts.map"]) expect(packed).toContain(base + ext);
    }
    expect(packed.filter((file) => /\.test\.|tsconfig|node_modules/.test(file))).toEqual([]);
    // Declaration maps lead to sources that ship too ("go to definition" lands in src/).
    const installed = join(tsConsumer, "node_modules/@tessera/verify");
    for (const map of packed.filter((file) => file.endsWith(".d.ts.map"))) {
      const { sources: mapped } = JSON.parse(await readFile(join(installed, map), "utf8")) as {
        sources: string[];
      };
      for (const source of mapped) expect(packed).toContain(posix.join(posix.dirname(map), source));
    }
  });

  it("the packed dist is the current source compiled (not a stale build)", async () => {
    const installed = join(jsConsumer, "node_modules/@tessera/verify");
    const fresh = join(work, "fresh");
    const compiled = (await filesUnder(fresh)).filter((f) => /\.(js|d\.ts)$/.test(f));
    expect(compiled.map((file) => `dist/${file}`)).toEqual(
      packed.filter((file) => /^dist\/.*\.(js|d\.ts)$/.test(file)),
    );
    const stale: string[] = [];
    for (const file of compiled) {
      const [now, shipped] = await Promise.all([
        readFile(join(fresh, file), "utf8"),
        readFile(join(installed, "dist", file), "utf8"),
      ]);
      if (now !== shipped) stale.push(file);
    }
    expect(stale, "run npm run build:verify").toEqual([]);
  });

  it("its dist JS imports nothing at run time but jose and its own files", async () => {
    const installed = join(jsConsumer, "node_modules/@tessera/verify");
    const specifiers = new Set<string>();
    for (const file of packed.filter((f) => f.endsWith(".js"))) {
      const code = await readFile(join(installed, file), "utf8");
      // Static `import … from`, `export … from` and bare `import "…"` statements.
      const statements = /(?:^|\n)\s*(?:(?:import|export)[^;]*?from\s*|import\s*)"([^"]+)"/g;
      for (const match of code.matchAll(statements)) {
        const specifier = match[1] as string;
        if (!specifier.startsWith(".")) {
          specifiers.add(specifier);
          continue;
        }
        // Relative imports name a .js file that is in the tarball, so Node can load them.
        expect(packed, `${file} imports ${specifier}`).toContain(
          posix.join(posix.dirname(file), specifier),
        );
      }
      expect(code).not.toMatch(/\bimport\s*\(/);
      expect(code).not.toMatch(/\brequire\s*\(/);
    }
    expect([...specifiers]).toEqual(["jose"]);
  });

  it("the repository root still exports tessera/verify: the same module as @tessera/verify", async () => {
    const script = `
      import * as root from "tessera/verify";
      import * as pkg from "@tessera/verify";
      console.log(JSON.stringify({
        resolved: [import.meta.resolve("tessera/verify"), import.meta.resolve("@tessera/verify")],
        root: Object.keys(root).sort(),
        pkg: Object.keys(pkg).sort(),
        different: Object.keys(pkg).filter((name) => root[name] !== pkg[name]),
      }));
    `;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
    });
    const { resolved, root, pkg, different } = JSON.parse(stdout);
    expect(resolved).toEqual([
      pathToFileURL(join(ROOT, "verify.js")).href,
      pathToFileURL(join(PACKAGE, "dist/index.js")).href,
    ]);
    expect(root).toEqual(pkg);
    expect(pkg).toEqual(
      expect.arrayContaining([
        "createVerifier",
        "tesseraAuth",
        "requireScope",
        "TesseraVerifyError",
        "verifyAccessTokenJwt",
        "ACCESS_TOKEN_ALGORITHMS",
        "ACCESS_TOKEN_TYP",
      ]),
    );
    expect(different).toEqual([]);
    const manifest = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8"));
    expect(manifest.exports["./verify"]).toEqual({
      types: "./verify.d.ts",
      default: "./verify.js",
    });
    expect(await readFile(join(ROOT, "verify.d.ts"), "utf8")).toMatch(
      /^export \* from "@tessera\/verify";$/m,
    );
  });
});
