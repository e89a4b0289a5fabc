import type { Context } from "hono";
import { Throttled } from "../errors.ts";
import { emailSendLimitKey } from "../rate-limits/email-send-key.ts";
import { hitRateLimit } from "../rate-limits/hit-rate-limit.ts";
import { rateLimitSubject } from "../rate-limits/rate-limit-subject.ts";
import type { AppEnv } from "./app-env.ts";
import { clientIp } from "./client-ip.ts";

/**
 * Counts one emailed message against the address and against the client IP, whether or not
 * the address has an account (so a refusal says nothing about it), before any lookup:
 * nobody can mail-bomb an address or probe many from one place. 429 past either limit.
 */
export async function limitEmailSends(c: Context<AppEnv>, address: string): Promise<void> {
  const { config, db, clock } = c.get("deps");
  if (!config.rateLimits) return;
  const now = clock.now();
  const checks = await Promise.all([
    hitRateLimit(db, await emailSendLimitKey(address), config.email.addressLimit, now),
    hitRateLimit(
      db,
      `email-ip:${rateLimitSubject(clientIp(c) ?? "unknown")}`,
      config.email.ipLimit,
      now,
    ),
  ]);
  for (const check of checks) {
    if (!check.allowed) throw new Throttled(check.retryAfterS, "Too many emails; retry later");
  }
}
