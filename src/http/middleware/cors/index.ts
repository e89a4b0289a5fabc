import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../app-env.ts";

/**
 * CORS from an allowlist (`CORS_ORIGINS`): an allowed `Origin` is echoed exactly, with
 * credentials allowed (cookie mode) and `Vary: Origin`; never `*`. Any other origin gets no
 * CORS headers at all, so the browser withholds the response.
 */
export function corsFromAllowlist(origins: readonly string[]) {
  const allowed = new Set(origins);
  const allow = cors({
    origin: (origin) => origin,
    credentials: true,
    allowMethods: ["GET", "POST", "DELETE"],
    allowHeaders: ["Authorization", "Content-Type"],
    exposeHeaders: ["X-Request-Id", "Retry-After", "WWW-Authenticate"],
    maxAge: 600,
  });
  return createMiddleware<AppEnv>(async (c, next) => {
    const origin = c.req.header("Origin");
    if (origin !== undefined && allowed.has(origin)) return allow(c, next);
    await next();
    // Caches must not serve one origin's answer to another.
    c.header("Vary", "Origin", { append: true });
  });
}
