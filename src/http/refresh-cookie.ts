import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { ApiError } from "./api-error.ts";
import type { AppEnv } from "./app-env.ts";

/** Sent as `__Host-tessera_refresh`: the `__Host-` prefix pins Secure, Path=/ and no Domain. */
const COOKIE_NAME = "tessera_refresh";

/**
 * Puts the refresh token in an HttpOnly cookie for SPA cookie mode, out of JavaScript's
 * reach: `__Host-` (Secure, Path=/, no Domain), HttpOnly, SameSite=Strict, Max-Age = the
 * seconds until the session's idle or absolute end.
 */
export function setRefreshCookie(c: Context<AppEnv>, refreshToken: string, maxAgeS: number) {
  setCookie(c, COOKIE_NAME, refreshToken, {
    prefix: "host",
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    path: "/",
    maxAge: maxAgeS,
  });
}

/** Moves the refresh token of a token response into the cookie. */
export function inCookie<T extends { refresh_token?: string; refresh_token_expires_in?: number }>(
  c: Context<AppEnv>,
  tokens: T,
): Omit<T, "refresh_token"> {
  const { refresh_token, ...rest } = tokens;
  if (refresh_token) setRefreshCookie(c, refresh_token, tokens.refresh_token_expires_in ?? 0);
  return rest;
}

/** Expires the refresh cookie (logout). */
export function clearRefreshCookie(c: Context<AppEnv>) {
  deleteCookie(c, COOKIE_NAME, {
    prefix: "host",
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    path: "/",
  });
}

/** The refresh token from the cookie, if the browser sent one. */
export function readRefreshCookie(c: Context<AppEnv>): string | undefined {
  return getCookie(c, COOKIE_NAME, "host") || undefined;
}

/**
 * CSRF defence for cookie-authenticated requests (OWASP CSRF cheat sheet, Fetch Metadata):
 * refuse `Sec-Fetch-Site: cross-site`, and require an `Origin` that is the issuer's own or
 * in `CORS_ORIGINS` — or, without `Origin`, `Sec-Fetch-Site: same-origin`. 403 `forbidden`.
 */
export function assertAllowedOrigin(c: Context<AppEnv>): void {
  const { config } = c.get("deps");
  const site = c.req.header("Sec-Fetch-Site");
  if (site === "cross-site") throw forbidden("Cross-site request refused");
  const origin = c.req.header("Origin");
  if (origin === undefined) {
    if (site === "same-origin") return;
    throw forbidden("Cookie requests must carry an Origin header");
  }
  if (origin === new URL(config.issuer).origin || config.corsOrigins.includes(origin)) return;
  throw forbidden("Origin not allowed");
}

const forbidden = (description: string) => new ApiError("forbidden", description);
