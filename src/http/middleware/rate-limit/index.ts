import { createMiddleware } from "hono/factory";
import { Throttled } from "../../../errors.ts";
import { hitRateLimit } from "../../../rate-limits/hit-rate-limit.ts";
import { rateLimitSubject } from "../../../rate-limits/rate-limit-subject.ts";
import type { AppEnv } from "../../app-env.ts";
import { clientIp } from "../../client-ip.ts";

/** `auth`: signup, login, password change; `token`: the `/oauth/*` endpoints. */
export type RateLimitBucket = "auth" | "token";

/**
 * Per-client-IP rate limit for a bucket (IPv6 counted by /64), counted in the database (so it holds across
 * instances and on D1): 429 `too_many_requests` with `Retry-After` past the limit. Runs
 * before body parsing and hashing. The IP is the socket's, or the `TRUST_PROXY` header's
 * when one is configured, so a spoofed `X-Forwarded-For` changes nothing.
 */
export const rateLimit = (bucket: RateLimitBucket) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const { config, db, clock } = c.get("deps");
    if (config.rateLimits) {
      const limit = bucket === "auth" ? config.authRateLimit : config.tokenRateLimit;
      const result = await hitRateLimit(
        db,
        `${bucket}:${rateLimitSubject(clientIp(c) ?? "unknown")}`,
        limit,
        clock.now(),
      );
      if (!result.allowed) throw new Throttled(result.retryAfterS);
    }
    await next();
  });
