import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomSecret } from "../../src/lib/random-id.ts";
import { type RunningServer, startServer } from "../browser/server.ts";
import {
  maxAgeZeroFlow,
  oauth4webapiFlow,
  openidClientFlow,
  type RpTarget,
} from "../cases/oidc-clients.flows.ts";

const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));
const run = promisify(execFile);

/**
 * Real relying-party libraries against the real server: the built `dist/node.js` listening on
 * a port over a temp libSQL file, its issuer that URL; clients registered with the operator
 * CLI (`node dist/cli.js clients create … --json`) on the same database. The libraries use the
 * global fetch (real HTTP); the hosted pages are driven by a cookie-jar browser over HTTP.
 */
describe("relying-party libraries against a listening Node server", () => {
  let dir: string;
  let server: RunningServer;
  let env: Record<string, string>;
  let target: RpTarget;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tessera-oidc-"));
    env = {
      DATABASE_URL: `file:${join(dir, "tessera.db")}`,
      TESSERA_SECRET: randomSecret(),
    };
    server = await startServer(env);
    target = {
      issuer: server.url,
      fetch: (url, init) => fetch(url, init),
      registerClient: async (input) => {
        const args = [
          CLI,
          "clients",
          "create",
          "--name",
          input.name,
          "--grant-types",
          "authorization_code,refresh_token",
          ...input.redirectUris.flatMap((u) => ["--redirect-uri", u]),
          ...input.postLogoutRedirectUris.flatMap((u) => ["--post-logout-redirect-uri", u]),
          ...(input.public ? ["--public"] : []),
          ...(input.firstParty ? ["--first-party"] : []),
          ...(input.idTokenAlg ? ["--id-token-alg", input.idTokenAlg] : []),
          "--json",
        ];
        const { stdout } = await run(process.execPath, args, {
          cwd: dir,
          env: { PATH: process.env.PATH, ISSUER: server.url, LOG_LEVEL: "warn", ...env },
        });
        const out = JSON.parse(stdout) as { client_id: string; client_secret?: string };
        expect(Boolean(out.client_secret)).toBe(!input.public);
        return {
          clientId: out.client_id,
          ...(out.client_secret ? { clientSecret: out.client_secret } : {}),
        };
      },
    };
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("openid-client 6, public first-party client (PKCE only): PAR, sign-in, code, ID token, userinfo, refresh, logout, prompt=none", async () => {
    await openidClientFlow(target, { confidential: false, firstParty: true });
  });

  it("openid-client 6, confidential third-party client (client_secret_post, its default): consent page", async () => {
    await openidClientFlow(target, { confidential: true, firstParty: false });
  });

  it("oauth4webapi 3, confidential third-party client (client_secret_basic): PAR, sign-in, consent, code, ID token, userinfo, refresh, logout, prompt=none", async () => {
    await oauth4webapiFlow(target, { confidential: true, firstParty: false });
  });

  it("oauth4webapi 3, public first-party client", async () => {
    await oauth4webapiFlow(target, { confidential: false, firstParty: true });
  });

  it("openid-client 6, a client registered with --id-token-alg ES256 (library told so): ES256 ID tokens, keys made by the CLI reach the running server", async () => {
    await openidClientFlow(target, { confidential: false, firstParty: true, idTokenAlg: "ES256" });
  });

  it("serves the discovery document on its own URL", async () => {
    const doc = await (await fetch(`${server.url}/.well-known/openid-configuration`)).json();
    expect(doc).toMatchObject({ issuer: server.url });
    // Every URL in it is on the listening server's own origin (the issuer is its URL).
    for (const value of Object.values(doc as Record<string, unknown>)) {
      if (typeof value === "string" && /^https?:/.test(value)) {
        expect(value.startsWith(server.url)).toBe(true);
      }
    }
  });

  it("max_age=0 with the real clock: the sign-in page each time, and signing in completes the request", async () => {
    await maxAgeZeroFlow(target);
  });
});
