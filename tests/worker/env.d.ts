declare global {
  namespace Cloudflare {
    interface Env {
      DB: D1Database;
      /** wrangler.toml [assets]: dist/static. */
      ASSETS: Fetcher;
      TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
      NODE_PHC: string;
      CROSS_RUNTIME_PASSWORD: string;
    }
  }
}

export {};
