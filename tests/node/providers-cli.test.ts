import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exportPKCS8, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openNodeDatabase } from "../../src/db/libsql-node.ts";
import { identityProviders } from "../../src/db/schema.ts";
import { randomSecret } from "../../src/lib/random-id.ts";
import { providerSecret } from "../../src/providers/provider-store.ts";
import { deriveKeys } from "../../src/secrets/derive-keys.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = join(ROOT, "dist/cli.js");
/** Each CLI run starts Node and opens the database (about a second on a busy machine). */
const TIMEOUT = 120_000;

type Listed = {
  name: string;
  kind: string;
  display_name: string;
  issuer: string;
  client_ids: string[];
  scopes: string;
  callback_url: string;
  browser_leg: boolean;
  created_at: string;
};

describe("operator CLI: npm run providers -- add | list | delete", () => {
  let dir: string;
  let env: Record<string, string>;

  const cli = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, "providers", ...args],
        { cwd: dir, env },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
    });

  const list = async () => {
    const listed = await cli("list", "--json");
    expect(listed.code).toBe(0);
    return JSON.parse(listed.stdout) as Listed[];
  };

  /** Reads the stored rows directly, as an attacker with the database file would. */
  const withDb = async <T>(
    fn: (db: Awaited<ReturnType<typeof openNodeDatabase>>["db"]) => Promise<T>,
  ) => {
    const { db, client } = await openNodeDatabase({
      url: `file:${join(dir, "data/tessera.db")}`,
      migrationsFolder: join(ROOT, "migrations"),
    });
    try {
      return await fn(db);
    } finally {
      client.close();
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tessera-providers-cli-"));
    env = {
      PATH: process.env.PATH ?? "",
      TESSERA_SECRET: randomSecret(),
      ISSUER: "https://auth.example.com",
      LOG_LEVEL: "warn",
    };
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  }, TIMEOUT);

  it(
    "adds google (--json: name, kind, callback_url only); the secret is sealed, never listed",
    async () => {
      const secret = "GOCSPX-very-secret-value-123";
      const added = await cli(
        "add",
        "google",
        "--client-id",
        "web.apps.googleusercontent.com",
        "--client-id",
        "android.apps.googleusercontent.com",
        "--client-secret",
        secret,
        "--json",
      );
      expect(added.code, added.stderr).toBe(0);
      expect(JSON.parse(added.stdout)).toEqual({
        name: "google",
        kind: "google",
        callback_url: "https://auth.example.com/oauth/callback/google",
      });

      const google = (await list()).find((p) => p.name === "google");
      expect(google).toMatchObject({
        kind: "google",
        display_name: "Google",
        issuer: "https://accounts.google.com",
        client_ids: ["web.apps.googleusercontent.com", "android.apps.googleusercontent.com"],
        scopes: "openid email profile",
        callback_url: "https://auth.example.com/oauth/callback/google",
        browser_leg: true,
      });
      expect(Object.keys(google ?? {}).sort()).toEqual(
        [
          "browser_leg",
          "callback_url",
          "client_ids",
          "created_at",
          "display_name",
          "issuer",
          "kind",
          "name",
          "scopes",
        ].sort(),
      );
      const text = await cli("list");
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^name\s+kind\s+display_name/);
      for (const out of [text.stdout, JSON.stringify(google)]) expect(out).not.toContain(secret);

      // At rest: a compact JWE (dir, A256GCM) that opens only with TESSERA_SECRET's sub-key.
      const { providerSecretKey } = await deriveKeys(env.TESSERA_SECRET as string);
      await withDb(async (db) => {
        const rows = await db.select().from(identityProviders);
        const row = rows.find((r) => r.name === "google");
        expect(row?.secretJwe).toMatch(/^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/);
        expect(JSON.stringify(rows)).not.toContain(secret);
        const header = JSON.parse(
          Buffer.from((row?.secretJwe ?? "").split(".")[0] as string, "base64url").toString(),
        ) as Record<string, string>;
        expect(header).toMatchObject({ alg: "dir", enc: "A256GCM" });
        expect(await providerSecret(db, "google", providerSecretKey)).toBe(secret);
        const other = (await deriveKeys(randomSecret())).providerSecretKey;
        await expect(providerSecret(db, "google", other)).rejects.toThrow();
      });
    },
    TIMEOUT,
  );

  it(
    "refuses a second provider of the same name",
    async () => {
      const again = await cli("add", "google", "--client-id", "x", "--client-secret", "y");
      expect(again.code).toBe(1);
      expect(again.stderr).toContain("already exists");
      // Under another name it is fine (two Google projects).
      const named = await cli(
        "add",
        "google",
        "--name",
        "google-staff",
        "--client-id",
        "x",
        "--client-secret",
        "y",
        "--display-name",
        "Staff Google",
        "--json",
      );
      expect(named.code, named.stderr).toBe(0);
      expect(JSON.parse(named.stdout).callback_url).toBe(
        "https://auth.example.com/oauth/callback/google-staff",
      );
      expect((await list()).find((p) => p.name === "google-staff")?.display_name).toBe(
        "Staff Google",
      );
    },
    TIMEOUT,
  );

  it(
    "adds apple with its PKCS#8 P-256 key (sealed), or native-only without one",
    async () => {
      const { privateKey } = await generateKeyPair("ES256", { extractable: true });
      const pem = await exportPKCS8(privateKey);
      const keyFile = join(dir, "AuthKey_KEY1234567.p8");
      await writeFile(keyFile, pem);
      const added = await cli(
        "add",
        "apple",
        "--client-id",
        "com.example.web",
        "--client-id",
        "com.example.ios",
        "--team-id",
        "TEAM123456",
        "--key-id",
        "KEY1234567",
        "--private-key-file",
        keyFile,
        "--json",
      );
      expect(added.code, added.stderr).toBe(0);
      expect(JSON.parse(added.stdout)).toEqual({
        name: "apple",
        kind: "apple",
        callback_url: "https://auth.example.com/oauth/callback/apple",
      });
      const native = await cli(
        "add",
        "apple",
        "--name",
        "apple-ios",
        "--client-id",
        "com.example.ios",
      );
      expect(native.code, native.stderr).toBe(0);
      const listed = await list();
      expect(listed.find((p) => p.name === "apple")).toMatchObject({
        issuer: "https://appleid.apple.com",
        scopes: "name email",
        browser_leg: true,
      });
      expect(listed.find((p) => p.name === "apple-ios")?.browser_leg).toBe(false);
      const body = pem.split("\n")[1] as string;
      await withDb(async (db) => {
        expect(JSON.stringify(await db.select().from(identityProviders))).not.toContain(body);
      });
    },
    TIMEOUT,
  );

  it(
    "refuses bad kinds, names, issuers and flag combinations with exit 2 and one line",
    async () => {
      const { privateKey: p384 } = await generateKeyPair("ES384", { extractable: true });
      const wrongCurve = join(dir, "p384.p8");
      await writeFile(wrongCurve, await exportPKCS8(p384));
      const notAKey = join(dir, "not-a-key.p8");
      await writeFile(notAKey, "hello");
      const apple = ["--client-id", "c", "--team-id", "TEAM123456", "--key-id", "KEY1234567"];
      const cases: string[][] = [
        [],
        ["add"],
        ["add", "facebook", "--client-id", "a", "--client-secret", "b"],
        ["add", "google", "--client-secret", "b"],
        ["add", "oidc", "--name", "acme", "--client-id", "a", "--client-secret", "b"],
        ["add", "oidc", "--name", "acme", "--issuer", "not a url", "--client-id", "a"],
        ["add", "oidc", "--name", "acme", "--issuer", "http://idp.example.com", "--client-id", "a"],
        [
          "add",
          "oidc",
          "--name",
          "acme",
          "--issuer",
          "https://idp.example.com?x=1",
          "--client-id",
          "a",
        ],
        ["add", "github", "--name", "Not A Slug", "--client-id", "a", "--client-secret", "b"],
        ["add", "github", "--client-id", "a", "--tenant", "common"],
        ["add", "google", "--client-id", "a", "--api-url", "https://api.example.com"],
        ["add", "google", "--client-id", "a", "--private-key-file", notAKey],
        ["add", "apple", "--client-id", "c", "--client-secret", "s"],
        ["add", "apple", "--client-id", "c", "--team-id", "TEAM123456"],
        ["add", "apple", ...apple, "--private-key-file", join(dir, "missing.p8")],
        ["add", "apple", ...apple, "--private-key-file", notAKey],
        ["add", "apple", ...apple, "--private-key-file", wrongCurve],
        ["add", "github", "--client-id", "a", "--bogus"],
        ["delete"],
        ["delete", "nobody"],
      ];
      const before = await list();
      for (const args of cases) {
        const result = await cli(...args);
        expect(result.code, args.join(" ")).toBe(2);
        expect(result.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      }
      expect(await list()).toEqual(before);
    },
    TIMEOUT,
  );

  it(
    "adds microsoft, github and oidc with their defaults and overrides",
    async () => {
      for (const args of [
        ["microsoft", "--client-id", "m", "--client-secret", "s", "--tenant", "organizations"],
        ["github", "--client-id", "g", "--client-secret", "s"],
        [
          "github",
          "--name",
          "ghe",
          "--issuer",
          "https://github.example.com/",
          "--client-id",
          "g",
          "--client-secret",
          "s",
        ],
        [
          "oidc",
          "--name",
          "acme",
          "--issuer",
          "http://127.0.0.1:9999",
          "--client-id",
          "o",
          "--client-secret",
          "s",
          "--scopes",
          "openid email",
          "--display-name",
          "Acme SSO",
        ],
      ]) {
        const added = await cli("add", ...args);
        expect(added.code, `${args.join(" ")}: ${added.stderr}`).toBe(0);
        expect(added.stdout).toContain("https://auth.example.com/oauth/callback/");
      }
      const listed = await list();
      expect(listed.find((p) => p.name === "microsoft")?.issuer).toBe(
        "https://login.microsoftonline.com/organizations/v2.0",
      );
      expect(listed.find((p) => p.name === "github")).toMatchObject({
        issuer: "https://github.com",
        scopes: "read:user user:email",
        display_name: "GitHub",
      });
      expect(listed.find((p) => p.name === "ghe")?.issuer).toBe("https://github.example.com");
      expect(listed.find((p) => p.name === "acme")).toMatchObject({
        issuer: "http://127.0.0.1:9999",
        scopes: "openid email",
        display_name: "Acme SSO",
      });
    },
    TIMEOUT,
  );

  it(
    "deletes a provider",
    async () => {
      const deleted = await cli("delete", "google-staff");
      expect(deleted.code, deleted.stderr).toBe(0);
      expect((await list()).map((p) => p.name)).not.toContain("google-staff");
      expect((await cli("delete", "google-staff")).code).toBe(2);
    },
    TIMEOUT,
  );
});
