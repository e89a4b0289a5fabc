import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { createVerifier, type TesseraEnv, tesseraAuth } from "@tessera/verify";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrap } from "../../src/bootstrap.ts";
import { parseConfig } from "../../src/config.ts";
import { openNodeDatabase } from "../../src/db/libsql-node.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { randomSecret } from "../../src/lib/random-id.ts";
import { bearer, json } from "../cases/helpers.ts";
import { verifySdkCases } from "../cases/verify-sdk.cases.ts";
import { createNodeHarness, MIGRATIONS } from "../harness/node.ts";

// The verifier SDK's suite against the Node app over libSQL (tests/worker/verify.test.ts runs
// the same cases inside workerd).
verifySdkCases(createNodeHarness);

// Node only: a real listening HTTP server (@hono/node-server on a loopback port) and the
// verifier's default global `fetch` going over TCP to it. The workers pool cannot listen on
// a port, and a Worker's `fetch` to 127.0.0.1 would leave the isolate.
describe("against a listening server", () => {
  let dir: string;
  let server: ReturnType<typeof serve>;
  let close: () => void = () => {};

  beforeAll(async () => {
    let app: { fetch(request: Request): Response | Promise<Response> } | undefined;
    server = serve({
      fetch: (request) => app?.fetch(request) ?? new Response(null, { status: 503 }),
      port: 0,
      hostname: "127.0.0.1",
    });
    await once(server, "listening");
    // The issuer is the URL it answers on, known only once the port is bound.
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = await mkdtemp(join(tmpdir(), "tessera-verify-"));
    const { db, client } = await openNodeDatabase({
      url: `file:${join(dir, "tessera.db")}`,
      migrationsFolder: MIGRATIONS,
    });
    close = () => client.close();
    const config = parseConfig({
      ISSUER: issuer,
      TESSERA_SECRET: randomSecret(),
      SCRYPT_LN: "10",
    });
    ({ app } = await bootstrap({
      config,
      db,
      secret: config.secret as string,
      logger: createLogger("silent"),
      socketAddress: () => "127.0.0.1",
    }));
  });
  afterAll(async () => {
    const http = server as import("node:http").Server;
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    close();
    await rm(dir, { recursive: true, force: true });
  });

  it("verifies a token from /v1/signup with global fetch, discovery and a 304 revalidation", async () => {
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const res = await fetch(
      `${issuer}/v1/signup`,
      json({ email: "live@example.com", password: "correct horse battery" }),
    );
    expect(res.status).toBe(201);
    const { access_token, user } = (await res.json()) as {
      access_token: string;
      user: { id: string };
    };
    let clockMs = Date.now();
    const requests: string[] = [];
    const verifier = createVerifier({
      issuer,
      audience: issuer,
      clock: { now: () => clockMs },
      fetch: async (url, init) => {
        const answer = await fetch(url, init);
        requests.push(`${new URL(url).pathname} ${answer.status}`);
        return answer;
      },
    });
    expect((await verifier.verify(access_token)).sub).toBe(user.id);
    clockMs += 300_000;
    expect((await verifier.verify(access_token)).sub).toBe(user.id);
    expect(requests).toEqual([
      "/.well-known/oauth-authorization-server 200",
      "/.well-known/jwks.json 200",
      "/.well-known/jwks.json 304",
    ]);
    const app = new Hono<TesseraEnv>()
      .use(tesseraAuth(verifier))
      .get("/", (c) => c.text(c.var.tessera.sub));
    expect(await (await app.request("/", bearer(access_token))).text()).toBe(user.id);
  });
});
