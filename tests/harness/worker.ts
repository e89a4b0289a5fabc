import { env } from "cloudflare:workers";
import { openWorkerDatabase } from "../../src/db/worker.ts";
import { testHarness } from "./test-app.ts";
import type { HarnessFactory } from "./types.ts";

/**
 * The Workers harness: D1 inside workerd with the committed migrations, opened by the
 * Worker's own database opener. Each harness starts from empty tables, since a test file
 * shares one D1 database.
 */
export const createWorkerHarness: HarnessFactory = async (vars = {}) => {
  await env.DB.batch(
    [
      "sessions",
      "users",
      "signing_keys",
      "clients",
      "rate_limits",
      "login_throttles",
      "auth_events",
      "email_challenges",
      "authorization_codes",
      "authorization_requests",
      "browser_sessions",
      "consents",
    ].map((table) => env.DB.prepare(`DELETE FROM ${table}`)),
  );
  return testHarness(openWorkerDatabase({ DB: env.DB }), vars, async () => {});
};
