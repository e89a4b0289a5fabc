import { createHmac, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { setCookie } from "hono/cookie";
import { randomSecret } from "../lib/random-id.ts";
import type { AppEnv } from "./app-env.ts";
import { hostCookieOptions, readHostCookie } from "./host-cookie.ts";

/**
 * CSRF defence of the hosted pages' forms (docs/decisions.md, "Hosted pages"): a signed
 * double-submit token. The browser holds a random value in a cookie (HttpOnly, SameSite=Lax,
 * `__Host-` and Secure when the issuer is https); each form carries
 * HMAC-SHA256(`formCsrfKey`, form name + that value) in a hidden field. A POST is accepted
 * only when both arrive and the field is the MAC of the cookie for that form; a cross-site
 * request (`Sec-Fetch-Site: cross-site`) is refused outright. Another site can neither read
 * the cookie nor compute the MAC, and a value planted in the cookie does not help it either:
 * without the server's key it cannot make the matching field.
 */

/** The form a token is for: a token made for one form does not pass another. */
export type CsrfForm =
  | "verify-email"
  | "reset-password"
  | "sign-in"
  | "sign-up"
  | "forgot-password"
  | "consent"
  | "logout"
  | "upstream";

/** The hidden field's name. */
export const CSRF_FIELD = "csrf";

/** The cookie's name, without the `__Host-` prefix it has on https. */
const COOKIE_NAME = "tessera_form";
/** 32 random bytes, base64url. */
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

const encoder = new TextEncoder();

/** The cookie value set while answering a request that brought none. */
const minted = new WeakMap<Request, string>();

function readCookie(c: Context<AppEnv>): string | undefined {
  const value = readHostCookie(c, COOKIE_NAME);
  return value && COOKIE_VALUE.test(value) ? value : undefined;
}

function mac(key: Uint8Array, form: CsrfForm, cookie: string): string {
  return createHmac("sha256", key).update(`${form}\0${cookie}`).digest("base64url");
}

/**
 * The value for a form's hidden {@link CSRF_FIELD}: bound to the browser's cookie, which is
 * set now when the request brought none (a second tab reuses it, so both forms stay valid).
 */
export function csrfFieldValue(c: Context<AppEnv>, form: CsrfForm): string {
  // A page with several forms (sign-in and "Continue with …") mints one cookie, not one each.
  let cookie = readCookie(c) ?? minted.get(c.req.raw);
  if (!cookie) {
    cookie = randomSecret();
    minted.set(c.req.raw, cookie);
    // Lax, not Strict: the page is opened from a mail client (another site) and must find the
    // cookie a page opened earlier set; the POST itself always comes from this origin.
    setCookie(c, COOKIE_NAME, cookie, {
      path: "/",
      httpOnly: true,
      sameSite: "Lax",
      ...hostCookieOptions(c),
    });
  }
  return mac(c.get("deps").formCsrfKey, form, cookie);
}

/** Whether a form POST carries the cookie and, in `field`, its MAC for `form`. */
export function csrfAccepted(c: Context<AppEnv>, form: CsrfForm, field: string | undefined) {
  if (c.req.header("Sec-Fetch-Site") === "cross-site") return false;
  const cookie = readCookie(c);
  if (!cookie || !field) return false;
  const expected = encoder.encode(mac(c.get("deps").formCsrfKey, form, cookie));
  const given = encoder.encode(field);
  return given.byteLength === expected.byteLength && timingSafeEqual(given, expected);
}
