import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../app-env.ts";

/**
 * One structured log line per request: request id, method, route pattern (never the raw
 * URL, which may carry a token in its query), status, duration and user id when known.
 */
export const requestLog = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  await next();
  const { logger } = c.get("deps");
  const status = c.res.status;
  const log = status >= 500 ? logger.error : logger.info;
  log("request", {
    request_id: c.get("requestId"),
    method: c.req.method,
    route: c.req.routePath,
    status,
    duration_ms: Math.round((performance.now() - started) * 100) / 100,
    user_id: c.get("auth")?.sub,
  });
});
