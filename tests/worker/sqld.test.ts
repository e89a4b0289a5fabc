import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createClient } from "@libsql/client/web";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import { randomSecret } from "../../src/lib/random-id.ts";
import worker from "../../src/worker.ts";
import { accessTokenCases } from "../cases/access-token.cases.ts";
import { authCases } from "../cases/auth.cases.ts";
import { dbErrorCases } from "../cases/db-errors.cases.ts";
import { form, json, type TokenBody, uniqueEmail } from "../cases/helpers.ts";
import { httpCases } from "../cases/http.cases.ts";
import { keyCases } from "../cases/keys.cases.ts";
import { oauthClientCases } from "../cases/oauth-clients.cases.ts";
import { refreshCases } from "../cases/refresh.cases.ts";
import { revokeIntrospectCases } from "../cases/revoke-introspect.cases.ts";
import { sessionCases } from "../cases/sessions.cases.ts";
import { verifierCases } from "../cases/verifier.cases.ts";
import { emptyDatabase } from "../harness/empty-database.ts";
import { createWorkerSqldHarness } from "../harness/worker-sqld.ts";

// The shared behavioural suite through the Worker's fetch handler in workerd, over a libSQL
// server (sqld) at DATABASE_URL with no D1 binding: the Workers + Turso deployment.
authCases(createWorkerSqldHarness);
accessTokenCases(createWorkerSqldHarness);
refreshCases(createWorkerSqldHarness);
sessionCases(createWorkerSqldHarness);
httpCases(createWorkerSqldHarness);
oauthClientCases(createWorkerSqldHarness);
revokeIntrospectCases(createWorkerSqldHarness);
keyCases(createWorkerSqldHarness);
verifierCases(createWorkerSqldHarness);
dbErrorCases(createWorkerSqldHarness);

describe("the deployed Worker (default export) with DATABASE_URL and no DB binding", () => {
  it("signs up and refreshes over sqld; the rows are in the libSQL server", async () => {
    // The cases above left keys encrypted under their own secrets.
    const client = createClient({ url: inject("sqldUrl") });
    onTestFinished(() => client.close());
    await emptyDatabase(client);
    const vars = {
      ASSETS: env.ASSETS,
      DATABASE_URL: inject("sqldUrl"),
      TESSERA_SECRET: randomSecret(),
      LOG_LEVEL: "silent",
      SCRYPT_LN: "10",
    };
    const call = async (path: string, init: RequestInit) => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(
        new Request(`http://localhost${path}`, init) as Request<
          unknown,
          IncomingRequestCfProperties
        >,
        vars,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return res;
    };
    const email = uniqueEmail("entry-sqld");
    const signup = await call("/v1/signup", json({ email, password: "correct horse battery" }));
    expect(signup.status, await signup.clone().text()).toBe(201);
    const { refresh_token } = (await signup.json()) as TokenBody;
    const refreshed = await call(
      "/oauth/token",
      form({ grant_type: "refresh_token", refresh_token }),
    );
    expect(refreshed.status).toBe(200);
    // Not in the test D1: the Worker wrote to the libSQL server.
    const inD1 = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE email = ?")
      .bind(email)
      .first<{ n: number }>();
    expect(inD1?.n).toBe(0);
    const { rows } = await client.execute({
      sql: "SELECT s.generation FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?",
      args: [email],
    });
    expect(rows.map((r) => Number(r.generation))).toEqual([1]);
  });
});
