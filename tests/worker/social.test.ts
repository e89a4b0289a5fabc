import { env } from "cloudflare:workers";
import { beforeEach, inject } from "vitest";
import { socialCases } from "../cases/social.cases.ts";
import { createWorkerHarness } from "../harness/worker.ts";

// Social sign-in against the real upstream servers that tests/worker/upstream.global-setup.ts
// runs in Node, with the app over D1 inside workerd: Tessera calls them (discovery, token,
// JWKS, GitHub's API) with workerd's fetch over 127.0.0.1.

// The file shares one D1 database: each case starts without providers, identities or legs.
beforeEach(async () => {
  await env.DB.batch(
    ["identities", "identity_providers", "upstream_authorizations", "upstream_nonces"].map(
      (table) => env.DB.prepare(`DELETE FROM ${table}`),
    ),
  );
});

socialCases(createWorkerHarness, () => inject("upstreams"));
