import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { createClient } from "../../src/clients/client-store.ts";
import type { SigningAlg } from "../../src/config.ts";
import { openWorkerDatabase } from "../../src/db/worker.ts";
import { ensureSigningKeys } from "../../src/keys/ensure-signing-keys.ts";
import { randomSecret } from "../../src/lib/random-id.ts";
import { deriveKeys } from "../../src/secrets/derive-keys.ts";
import worker from "../../src/worker.ts";
import {
  maxAgeZeroFlow,
  oauth4webapiFlow,
  openidClientFlow,
  type RpTarget,
} from "../cases/oidc-clients.flows.ts";

const SECRET = randomSecret();
const VARS = { ...env, TESSERA_SECRET: SECRET, LOG_LEVEL: "silent", SCRYPT_LN: "10" };

/**
 * The Worker entry (src/worker.ts, as deployed: wrangler.toml's ISSUER, D1) driven by the
 * same relying-party libraries inside workerd: they reach it through their `customFetch`,
 * which hands each request to `worker.fetch` — no network in between.
 */
const callWorker = async (url: string, init?: RequestInit) => {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(url, init) as Request<unknown, IncomingRequestCfProperties>,
    VARS,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
};

const target: RpTarget = {
  // wrangler.toml [vars] ISSUER.
  issuer: String((env as unknown as { ISSUER?: string }).ISSUER ?? "http://localhost:8787"),
  fetch: callWorker,
  customFetch: callWorker,
  registerClient: async (input) => {
    // What `npm run clients -- create` does, on the Worker's D1.
    const db = openWorkerDatabase(env);
    const { client, clientSecret } = await createClient(
      db,
      {
        name: input.name,
        grantTypes: ["authorization_code", "refresh_token"],
        redirectUris: input.redirectUris,
        postLogoutRedirectUris: input.postLogoutRedirectUris,
        public: input.public,
        firstParty: input.firstParty,
        idTokenSignedResponseAlg: input.idTokenAlg ?? null,
      },
      Date.now(),
    );
    if (input.idTokenAlg) {
      const { keyEncryptionKey } = await deriveKeys(SECRET);
      await ensureSigningKeys(db, {
        alg: input.idTokenAlg as SigningAlg,
        keyEncryptionKey,
        now: Date.now(),
      });
    }
    return { clientId: client.clientId, ...(clientSecret ? { clientSecret } : {}) };
  },
};

describe("relying-party libraries against the Worker entry in workerd (customFetch → worker.fetch)", () => {
  it("openid-client 6, confidential third-party client (client_secret_post): PAR, sign-in, consent, code, ID token, userinfo, refresh, logout, prompt=none", async () => {
    await openidClientFlow(target, { confidential: true, firstParty: false });
  });

  it("openid-client 6, public first-party client (PKCE only)", async () => {
    await openidClientFlow(target, { confidential: false, firstParty: true });
  });

  it("oauth4webapi 3, confidential third-party client (client_secret_basic)", async () => {
    await oauth4webapiFlow(target, { confidential: true, firstParty: false });
  });

  it("max_age=0 with the real clock: the sign-in page each time, and signing in completes the request", async () => {
    await maxAgeZeroFlow(target);
  });
});
