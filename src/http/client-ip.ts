import type { Context } from "hono";
import type { AppEnv } from "./app-env.ts";

/**
 * The client's IP: the socket's, unless `TRUST_PROXY` names the header a trusted proxy
 * sets (`CF-Connecting-IP`, `X-Real-IP`, or `X-Forwarded-For`, whose first address is
 * taken). Headers are never read when nobody configured a proxy, so they cannot be spoofed.
 */
export function clientIp(c: Context<AppEnv>): string | undefined {
  const { config, socketAddress } = c.get("deps");
  if (config.trustProxy) {
    const value = c.req.header(config.trustProxy);
    const first = value?.split(",")[0]?.trim();
    if (first) return first.slice(0, 64);
  }
  return socketAddress?.(c);
}
