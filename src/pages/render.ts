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
export const PAGE_CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/**
 * Answers with a page: HTML5 doctype, the page policy, `no-store` (a page may show an
 * address, and a form holds a link token and a CSRF field).
 */
export function renderPage(
  c: Context<AppEnv>,
  page: JSX.Element,
  status: ContentfulStatusCode = 200,
  headers: Record<string, string> = {},
) {
  return c.html(html`<!doctype html>${page}`, status, {
    ...headers,
    "Content-Security-Policy": PAGE_CSP,
    "Cache-Control": "no-store",
  });
}
