import { timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "./app-env.ts";
import { hostCookieOptions, readHostCookie, secureIssuer } from "./host-cookie.ts";

/**
 * The browser leg's binding to the browser that started it (docs/design/upstream.md, "The
 * browser leg"): `POST /authorize/upstream` sets `tessera_upstream` = the leg's `state`, and
 * the callback goes on only when the cookie equals the `state` the provider sent back. A
 * callback URL made in another browser (login CSRF: someone else's code and state) finds no
 * such cookie there. No CSRF field is possible on the callback (the provider sends it); this
 * is its defence.
 *
 * On https: `__Host-tessera_upstream`, Secure, Path=/ (the prefix requires it) and
 * `SameSite=None`, because Apple's `form_post` callback is a cross-site POST that a Lax cookie
 * would miss. On plain http (development, tests) a `SameSite=None` cookie needs Secure, so it
 * is Lax and limited to `/oauth/callback`. Ten minutes, as long as the state row lives.
 */
const COOKIE_NAME = "tessera_upstream";
const CALLBACK_PATH = "/oauth/callback";
/** How long the cookie lives: the `upstream_authorizations` row's 10 minutes. */
const MAX_AGE_S = 600;
/** A state as the leg makes them (random bytes, base64url); anything else is ignored. */
const STATE = /^[A-Za-z0-9_-]{16,128}$/;

const options = (c: Context<AppEnv>) =>
  secureIssuer(c)
    ? { path: "/", ...hostCookieOptions(c), sameSite: "None" as const }
    : { path: CALLBACK_PATH, sameSite: "Lax" as const };

/** Binds the leg that starts now to this browser. */
export function setUpstreamCookie(c: Context<AppEnv>, state: string): void {
  setCookie(c, COOKIE_NAME, state, { ...options(c), httpOnly: true, maxAge: MAX_AGE_S });
}

/** The state this browser started a leg with, if any. */
function readUpstreamCookie(c: Context<AppEnv>): string | undefined {
  const value = readHostCookie(c, COOKIE_NAME);
  return value && STATE.test(value) ? value : undefined;
}

const encoder = new TextEncoder();

/**
 * Whether this browser started the leg `state` names; the cookie is deleted either way (a leg
 * is finished once, and a refused callback leaves nothing to retry with).
 */
export function takeUpstreamCookie(c: Context<AppEnv>, state: string | null): boolean {
  const cookie = readUpstreamCookie(c);
  if (cookie !== undefined) deleteCookie(c, COOKIE_NAME, options(c));
  if (!cookie || !state || !STATE.test(state)) return false;
  const given = encoder.encode(state);
  const expected = encoder.encode(cookie);
  return given.byteLength === expected.byteLength && timingSafeEqual(given, expected);
}
