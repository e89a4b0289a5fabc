import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// The committed drizzle-kit migrations, applied to the test D1 as `wrangler d1 migrations apply` would.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
