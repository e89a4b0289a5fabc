import type { Context } from "hono";
import { html } from "hono/html";
import type { JSX } from "hono/jsx/jsx-runtime";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../http/app-env.ts";

/**
 * The hosted pages' policy (docs/decisions.md, "Hosted pages"): no script at all, styles and
 * images from this origin only (no inline `<style>` or `style=""`), forms post only here, no
 * framing, no `<base>`.
 */
export const PAGE_CSP = pageCsp();

/**
 * The policy, with more `form-action` sources for pages whose form ends in a redirect to a
 * client (see {@link redirectTargetSource}).
 */
export function pageCsp(formAction: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self'",
    ["form-action 'self'", ...formAction].join(" "),
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
}

/** An origin (`https://app.example`, `http://127.0.0.1:53100`) or a scheme (`com.example.app:`). */
const SOURCE =
  /^(?:https?:\/\/(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?|[a-z][a-z0-9+.-]*:)$/;

/**
 * The `form-action` source that lets a form's answer redirect to `uri` (docs/decisions.md,
 * "Hosted pages", form-action): Chromium checks `form-action` on every redirect that follows a
 * form POST, a same-origin hop included, so the sign-in, sign-up and consent pages, whose POST
 * may end in a 303 to the client's (already validated) redirect URI, and the logout page
 * (post-logout redirect URI) list that URI's origin — or, for an app's private-use scheme, the
 * scheme. Paths are not matched after a redirect (CSP3), so the origin is all there is to say.
 * Undefined for anything that is not a plain origin or scheme, so nothing odd reaches the header.
 */
export function redirectTargetSource(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  const source =
    url.protocol === "https:" || url.protocol === "http:"
      ? `${url.protocol}//${url.host}`
      : url.protocol;
  return SOURCE.test(source) ? source : undefined;
}

/**
 * Answers with a page: HTML5 doctype, the page policy, `X-Frame-Options: DENY` (with the
 * policy's `frame-ancestors 'none'`: no clickjacking, older browsers included), `no-store` (a
 * page may show an address, and a form holds a link token, a pending request and a CSRF
 * field). `formAction`: origins the page's form may end up at (see {@link redirectTargetSource}).
 */
export function renderPage(
  c: Context<AppEnv>,
  page: JSX.Element,
  status: ContentfulStatusCode = 200,
  headers: Record<string, string> = {},
  options: { formAction?: readonly string[] } = {},
) {
  return c.html(html`<!doctype html>${page}`, status, {
    ...headers,
    "Content-Security-Policy": pageCsp(options.formAction),
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
  });
}
