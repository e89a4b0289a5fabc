import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient as openDatabase } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomSecret } from "../../src/lib/random-id.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = join(ROOT, "dist/cli.js");
const SERVER = join(ROOT, "dist/node.js");

describe("operator CLI (npm run keys / npm run clients) against a running server", () => {
  let dir: string;
  let env: Record<string, string>;
  let server: ChildProcess;
  let base: string;

  const cli = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, ...args], { cwd: dir, env }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tessera-cli-"));
    env = {
      PATH: process.env.PATH ?? "",
      TESSERA_SECRET: randomSecret(),
      ISSUER: "http://tessera.test",
      LOG_LEVEL: "warn",
      PORT: "0",
    };
    server = spawn(process.execPath, [SERVER], {
      cwd: dir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    base = await new Promise<string>((resolve, reject) => {
      let out = "";
      server.stdout?.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const m = /listening on (http:\/\/localhost:\d+)/.exec(out);
        if (m) resolve(m[1] as string);
      });
      server.on("exit", (code) => reject(new Error(`server exited ${code}: ${out}`)));
    });
  });

  afterAll(async () => {
    // Runs even if beforeAll failed: stop the server (if it started) before removing its dir.
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server.once("exit", resolve));
      server.kill("SIGTERM");
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("creates a confidential client (--json prints id and secret once) that gets tokens", async () => {
    const created = await cli(
      "clients",
      "create",
      "--name",
      "billing",
      "--grant-types",
      "client_credentials",
      "--scopes",
      "read write",
      "--json",
    );
    expect(created.code).toBe(0);
    const { client_id, client_secret } = JSON.parse(created.stdout) as {
      client_id: string;
      client_secret: string;
    };
    expect(client_id).toMatch(/^[\w-]{22}$/);
    expect(client_secret).toMatch(/^[\w-]{43}$/);

    const token = await fetch(`${base}/oauth/token`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Authorization: `Basic ${btoa(`${client_id}:${client_secret}`)}`,
      },
      body: "grant_type=client_credentials&scope=read",
    });
    expect(token.status).toBe(200);
    expect(((await token.json()) as { scope: string }).scope).toBe("read");

    const list = await cli("clients", "list", "--json");
    const rows = JSON.parse(list.stdout) as Array<Record<string, string>>;
    expect(rows.find((r) => r.client_id === client_id)).toMatchObject({
      name: "billing",
      type: "confidential",
      grant_types: "client_credentials",
      scopes: "read write",
    });
    // The secret is never shown again.
    expect(list.stdout).not.toContain(client_secret);

    expect((await cli("clients", "delete", client_id)).code).toBe(0);
    const after = await fetch(`${base}/oauth/token`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Authorization: `Basic ${btoa(`${client_id}:${client_secret}`)}`,
      },
      body: "grant_type=client_credentials",
    });
    expect(after.status).toBe(401);
  });

  it("creates public clients with redirect URIs, and refuses bad input with exit code 2", async () => {
    const spa = await cli(
      "clients",
      "create",
      "--name",
      "spa",
      "--grant-types",
      "refresh_token",
      "--public",
      "--redirect-uri",
      "https://app.example.com/cb",
      "--redirect-uri",
      "http://localhost:5173/cb",
      "--json",
    );
    const body = JSON.parse(spa.stdout) as Record<string, string>;
    expect(body.client_secret).toBeUndefined();
    const rows = JSON.parse((await cli("clients", "list", "--json")).stdout) as Array<
      Record<string, string>
    >;
    expect(rows.find((r) => r.client_id === body.client_id)?.redirect_uris).toBe(
      "https://app.example.com/cb http://localhost:5173/cb",
    );
    for (const args of [
      ["clients", "create", "--grant-types", "client_credentials"],
      ["clients", "create", "--name", "x", "--grant-types", "password"],
      ["clients", "create", "--name", "x", "--grant-types", "client_credentials", "--public"],
      ["clients", "delete", "no-such-client"],
      ["keys", "spin"],
    ]) {
      const result = await cli(...args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
    }
  });

  /**
   * A client whose id has the shape an older release could mint (22 base64url characters,
   * starting with `prefix`): created by the CLI, then renamed in the database.
   */
  async function legacyClient(prefix: string) {
    const created = await cli(
      "clients",
      "create",
      "--name",
      `legacy${prefix.length}`,
      "--grant-types",
      "client_credentials",
      "--json",
    );
    const { client_id } = JSON.parse(created.stdout) as { client_id: string };
    expect(client_id.startsWith("-")).toBe(false);
    const legacyId = `${prefix}${client_id.slice(prefix.length)}`;
    const db = openDatabase({ url: `file:${join(dir, "data/tessera.db")}` });
    await db.execute({
      sql: "UPDATE clients SET client_id = ? WHERE client_id = ?",
      args: [legacyId, client_id],
    });
    db.close();
    return legacyId;
  }

  it("deletes a client whose id starts with '-' (ids minted before new ids skipped it)", async () => {
    const legacyId = await legacyClient("-");
    const deleted = await cli("clients", "delete", legacyId);
    expect(deleted.stderr).toBe("");
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain(`Deleted client ${legacyId}.`);
    const rows = JSON.parse((await cli("clients", "list", "--json")).stdout) as Array<
      Record<string, string>
    >;
    expect(rows.map((r) => r.client_id)).not.toContain(legacyId);
    // An id starting with "--" too, after --json.
    const dashed = await legacyClient("--");
    const deleted2 = await cli("clients", "delete", "--json", dashed);
    expect(deleted2.stderr).toBe("");
    expect(deleted2.code).toBe(0);
    // Still a usage error (exit 2) once it is gone, and a real flag still parses as one.
    expect((await cli("clients", "delete", legacyId)).code).toBe(2);
    expect((await cli("clients", "delete", "--json")).code).toBe(2);
  });

  it("keys list shows kid, alg, status and dates of every alg, never private material; rotate promotes next of each", async () => {
    const before = JSON.parse((await cli("keys", "list", "--json")).stdout) as Array<
      Record<string, string>
    >;
    // SIGNING_ALG (EdDSA) for access tokens and RS256 for ID tokens, grouped by alg.
    expect(before.map((k) => `${k.alg}:${k.status}`)).toEqual([
      "EdDSA:current",
      "EdDSA:next",
      "RS256:current",
      "RS256:next",
    ]);
    const nextOf = (alg: string) => before.find((k) => k.alg === alg && k.status === "next")?.kid;
    const rotated = await cli("keys", "rotate", "--json");
    expect(rotated.code).toBe(0);
    const rotations = JSON.parse(rotated.stdout) as Array<Record<string, string>>;
    expect(rotations.map((r) => [r.alg, r.current])).toEqual([
      ["EdDSA", nextOf("EdDSA")],
      ["RS256", nextOf("RS256")],
    ]);
    const listed = await cli("keys", "list");
    expect(listed.stdout).toMatch(/kid\s+alg\s+status\s+created_at/);
    expect(listed.stdout).toMatch(/\sEdDSA\s+current\s/);
    expect(listed.stdout).toMatch(/\sRS256\s+current\s/);
    expect(listed.stdout).not.toMatch(/"d"|eyJ/);
    const after = JSON.parse((await cli("keys", "list", "--json")).stdout) as Array<
      Record<string, string>
    >;
    expect(after.map((k) => `${k.alg}:${k.status}`)).toEqual([
      "EdDSA:current",
      "EdDSA:next",
      "EdDSA:previous",
      "RS256:current",
      "RS256:next",
      "RS256:previous",
    ]);
    for (const key of after) {
      expect(Object.keys(key).sort()).toEqual([
        "activated_at",
        "alg",
        "created_at",
        "deactivated_at",
        "kid",
        "retired_at",
        "status",
      ]);
    }
  });
});
