/**
 * Cloudflare Workers entry: the same app over D1 (binding `DB`) or Turso
 * (`DATABASE_URL`). Runtime-specific code lives here and in `db/worker.ts` only.
 */
import { type BootstrapInput, bootstrap } from "./bootstrap.ts";
import { ConfigError, parseConfig } from "./config.ts";
import { openWorkerDatabase, type WorkerDatabaseEnv } from "./db/worker.ts";
import { ApiError } from "./http/api-error.ts";
import { createLogger } from "./lib/logger.ts";
import { loggableError } from "./lib/safe-error.ts";

/** Bindings and variables (wrangler.toml `[vars]`, secrets) the Worker reads. */
export type WorkerEnv = WorkerDatabaseEnv & { ASSETS?: Fetcher } & Record<string, unknown>;

type Runtime = Awaited<ReturnType<typeof bootstrap>>;

const STARTUP_FAILURE_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Content-Security-Policy": "frame-ancestors 'none'",
};

/**
 * What a test may put in place of the platform's: the clock, the password hasher and the log
 * sink. The deployed Worker (the default export) takes none.
 */
export type WorkerOverrides = Pick<BootstrapInput, "clock" | "hasher" | "logger">;

/**
 * What identifies a configuration: the env's string values (variables and secrets). Keyed by
 * value, not by object identity, so the runtime is reused even if the platform hands each
 * request its own `env` object, and rebuilt if a variable changes.
 */
function configKey(env: WorkerEnv): string {
  return JSON.stringify(
    Object.entries(env)
      .filter(([, value]) => typeof value === "string")
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

/**
 * The Worker's handlers over `env`'s database. `start` is the runtime the handlers use (one per
 * isolate and configuration), exposed for tests that rotate keys or run maintenance as the cron does.
 */
export function createWorker(overrides: WorkerOverrides = {}) {
  // One runtime per isolate: config parsed, keys imported and caches warm across requests.
  let runtime: { key: string; ready: Promise<Runtime> } | undefined;

  function start(env: WorkerEnv): Promise<Runtime> {
    const key = configKey(env);
    if (runtime?.key === key) return runtime.ready;
    const ready = (async () => {
      const config = parseConfig(env);
      if (!config.secret) {
        throw new ConfigError("TESSERA_SECRET", "required: `wrangler secret put TESSERA_SECRET`");
      }
      return bootstrap({
        ...overrides,
        config,
        db: openWorkerDatabase(env),
        secret: config.secret,
        // Cloudflare sets CF-Connecting-IP at its edge: it is the socket address here.
        socketAddress: (c) => c.req.header("CF-Connecting-IP"),
        // A mail send outlives the response it was started by.
        waitUntil: (c, task) => c.executionCtx.waitUntil(task),
        // wrangler.toml [assets]: dist/static, with the Worker run first for every request.
        assets: env.ASSETS,
      });
    })();
    // A failed start (bad variable, database down) is retried by the next request.
    ready.catch(() => {
      if (runtime?.ready === ready) runtime = undefined;
    });
    runtime = { key, ready };
    return ready;
  }

  const handler = {
    async fetch(request, env, ctx) {
      let app: Runtime["app"];
      try {
        ({ app } = await start(env));
      } catch (error) {
        const requestId = crypto.randomUUID();
        createLogger().error("startup_failed", { request_id: requestId, ...loggableError(error) });
        const res = new ApiError("server_error", "Service is not configured").toResponse();
        // The headers every response carries, as the app's middleware would have set them.
        for (const [name, value] of Object.entries(STARTUP_FAILURE_HEADERS))
          res.headers.set(name, value);
        res.headers.set("X-Request-Id", requestId);
        return res;
      }
      return app.fetch(request, env, ctx);
    },

    /** Cron trigger: key maintenance (current/next in place, retire, rotate when due) and
     * pruning of stale rate-limit rows and old auth events. */
    async scheduled(_controller, env) {
      const { maintainKeys, pruneStale } = await start(env);
      await maintainKeys();
      await pruneStale();
    },
  } satisfies ExportedHandler<WorkerEnv>;

  return { handler, start };
}

export default createWorker().handler;
