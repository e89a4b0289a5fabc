import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv } from "./app-env.ts";

/**
 * Whether this deployment's cookies carry the `__Host-` prefix: on an https issuer they do
 * (the prefix pins Secure, Path=/ and no Domain); on plain http (development, tests) a browser
 * would refuse a Secure cookie, so they go without it.
 */
export const secureIssuer = (c: Context<AppEnv>): boolean =>
  c.get("deps").config.issuer.startsWith("https://");

/** Cookie `name` as this request carries it: `__Host-<name>` on https, `<name>` on http. */
export function readHostCookie(c: Context<AppEnv>, name: string): string | undefined {
  return secureIssuer(c) ? getCookie(c, name, "host") : getCookie(c, name);
}

/** What `setCookie`/`deleteCookie` need for the `__Host-` form on https; nothing on http. */
export function hostCookieOptions(
  c: Context<AppEnv>,
): { prefix: "host"; secure: true } | Record<string, never> {
  return secureIssuer(c) ? { prefix: "host", secure: true } : {};
}
