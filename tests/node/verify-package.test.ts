import { execFile } from "node:child_process";
import {
  access,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DIST = join(ROOT, "dist/verify");
const run = promisify(execFile);

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}

// What another service writes: plain Node, the package's subpath, no TypeScript.
const CONSUMER_SCRIPT = `
import { createVerifier, requireScope, tesseraAuth, TesseraVerifyError } from "tessera/verify";
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
  resolved: import.meta.resolve("tessera/verify"),
  sub: claims.sub,
  refused: [refused instanceof TesseraVerifyError, refused.name, refused.code],
  middleware: [typeof tesseraAuth({ issuer, audience: "api", fetch }), typeof requireScope("read")],
}));
`;

// A TypeScript consumer type-checks against the emitted declarations only.
const CONSUMER_TS = `
import { Hono } from "hono";
import { createVerifier, requireScope, tesseraAuth, type TesseraClaims, type TesseraEnv, TesseraVerifyError } from "tessera/verify";
const verifier = createVerifier({ issuer: "https://auth.example.com", audience: "api" });
export const app = new Hono<TesseraEnv>()
  .use("/api/*", tesseraAuth(verifier))
  .get("/api/orders", requireScope("orders:read"), (c) => c.text(c.var.tessera.sub));
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
`;

describe("tessera/verify as a package", () => {
  let consumer: string;

  beforeAll(async () => {
    await run("npm", ["run", "--silent", "build:verify"], { cwd: ROOT });
    consumer = await mkdtemp(join(tmpdir(), "tessera-verify-consumer-"));
  }, 120_000);
  afterAll(async () => {
    await rm(consumer, { recursive: true, force: true });
  });

  it("package.json exports ./verify as built JS with declarations", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8"));
    expect(pkg.name).toBe("tessera");
    expect(pkg.exports["./verify"]).toEqual({
      types: "./dist/verify/index.d.ts",
      default: "./dist/verify/index.js",
    });
    const files = await filesUnder(DIST);
    for (const source of await filesUnder(join(ROOT, "src/verify"))) {
      if (!source.endsWith(".ts") || source.endsWith(".test.ts")) continue;
      expect(files).toContain(source.replace(/\.ts$/, ".js"));
      expect(files).toContain(source.replace(/\.ts$/, ".d.ts"));
    }
  });

  it("the built JS imports nothing at run time but jose and its own files", async () => {
    const specifiers = new Set<string>();
    for (const file of await filesUnder(DIST)) {
      if (!file.endsWith(".js")) continue;
      const code = await readFile(join(DIST, file), "utf8");
      // Static `import … from`, `export … from` and bare `import "…"` statements.
      const statements = /(?:^|\n)\s*(?:(?:import|export)[^;]*?from\s*|import\s*)"([^"]+)"/g;
      for (const match of code.matchAll(statements)) specifiers.add(match[1] as string);
      expect(code).not.toMatch(/\bimport\s*\(/);
      // Relative imports were rewritten to .js, so Node can load them.
      expect(code).not.toMatch(/from\s+"\.{1,2}\/[^"]*\.ts"/);
    }
    const external = [...specifiers].filter((s) => !s.startsWith("./") && !s.startsWith("../"));
    expect(external).toEqual(["jose"]);
  });

  it("plain node imports tessera/verify from the built JS and verifies a token", async () => {
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", CONSUMER_SCRIPT], {
      cwd: ROOT,
    });
    expect(JSON.parse(stdout)).toEqual({
      resolved: pathToFileURL(join(DIST, "index.js")).href,
      sub: "u1",
      refused: [true, "TesseraVerifyError", "invalid_audience"],
      middleware: ["function", "function"],
    });
  });

  it("a TypeScript consumer (nodenext) type-checks against the .d.ts files", async () => {
    await access(join(DIST, "index.d.ts"));
    await mkdir(join(consumer, "node_modules"), { recursive: true });
    for (const name of ["jose", "hono"]) {
      await symlink(join(ROOT, "node_modules", name), join(consumer, "node_modules", name), "dir");
    }
    await symlink(ROOT, join(consumer, "node_modules/tessera"), "dir");
    await writeFile(join(consumer, "package.json"), '{ "type": "module" }\n');
    await writeFile(join(consumer, "consumer.ts"), CONSUMER_TS);
    const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
    const args = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext"];
    const result = await run(
      process.execPath,
      [tsc, ...args, "--target", "es2022", "--lib", "es2022,dom", "--types", "", "consumer.ts"],
      { cwd: consumer },
    ).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code?: number | string; stdout?: string }) => error,
    );
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 0, stdout: "" });
  });
});
