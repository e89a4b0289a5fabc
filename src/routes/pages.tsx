import type { Context } from "hono";
import { LINK_TTL_MS } from "../challenges/challenge-policy.ts";
import { findLinkChallenge, redeemLinkToken } from "../challenges/redeem-challenge.ts";
import { InvalidInput } from "../errors.ts";
import { completeEmailChallenge, completePasswordReset } from "../http/account-actions.ts";
import { ApiError } from "../http/api-error.ts";
import type { AppEnv } from "../http/app-env.ts";
import { renderError } from "../http/error-response.ts";
import { CSRF_FIELD, csrfAccepted, csrfFieldValue } from "../http/form-csrf.ts";
import { rateLimit } from "../http/middleware/rate-limit/index.ts";
import { readForm } from "../http/read-form.ts";
import { createRouter } from "../http/router.ts";
import { sha256Base64url } from "../lib/sha256.ts";
import { renderFormRefused, renderPageError } from "../pages/page-error.tsx";
import { LinkProblemPage } from "../pages/problems.tsx";
import { renderPage } from "../pages/render.ts";
import { PasswordChangedPage, ResetPasswordPage } from "../pages/reset-password.tsx";
import { iconSvg, themeStylesheet } from "../pages/theme.ts";
import { EmailVerifiedPage, VerifyEmailPage } from "../pages/verify-email.tsx";
import { acceptNewPassword } from "../passwords/policy.ts";

/**
 * The hosted pages the emailed links open (docs/decisions.md, "Hosted pages"):
 * `/verify-email` (verify_email and change_email links) and `/reset-password`. A GET shows a
 * form and uses nothing, since mail scanners follow links; only the form's POST, which needs
 * the page's CSRF field, uses the link. Nothing here signs anyone in. Also the pages' assets:
 * `/assets/pages.css` (static, through `deps.assets`), `/assets/theme.css` and
 * `/assets/icon.svg` (from `ACCENT_COLOR`).
 */
export const pageRoutes = createRouter();

type Ctx = Context<AppEnv>;

const EMAIL_PURPOSES = ["verify_email", "change_email"] as const;
const RESET_PURPOSES = ["reset_password"] as const;

/** A link token as `randomSecret` makes them (and `LinkTokenSchema` bounds them). */
const LINK_TOKEN = /^[A-Za-z0-9_-]{16,128}$/;

const linkToken = (value: string | undefined) =>
  value !== undefined && LINK_TOKEN.test(value) ? value : undefined;

/** "24 hours", "15 minutes". */
function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes % 60 !== 0) return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = minutes / 60;
  return `${hours} hour${hours === 1 ? "" : "s"}`;
}

const appName = (c: Ctx) => c.get("deps").config.appName;

const linkProblem = (c: Ctx, purpose: "email" | "password") =>
  renderPage(
    c,
    <LinkProblemPage
      appName={appName(c)}
      purpose={purpose}
      validFor={duration(
        purpose === "password" ? LINK_TTL_MS.reset_password : LINK_TTL_MS.verify_email,
      )}
    />,
    400,
  );

const formRefused = renderFormRefused;

pageRoutes.onError(renderPageError);

// ---- /verify-email ---------------------------------------------------------------------

pageRoutes.get("/verify-email", async (c) => {
  const { db, clock } = c.get("deps");
  const token = linkToken(c.req.query("token"));
  const pending = token
    ? await findLinkChallenge(db, { purposes: EMAIL_PURPOSES, token, now: clock.now() })
    : undefined;
  if (!token || !pending?.userId) return linkProblem(c, "email");
  return renderPage(
    c,
    <VerifyEmailPage
      appName={appName(c)}
      purpose={pending.purpose === "change_email" ? "change_email" : "verify_email"}
      email={pending.email}
      token={token}
      csrf={csrfFieldValue(c, "verify-email")}
    />,
  );
});

pageRoutes.post("/verify-email", rateLimit("auth"), async (c) => {
  const { db, clock } = c.get("deps");
  const field = await readForm(c);
  if (!csrfAccepted(c, "verify-email", field(CSRF_FIELD))) return formRefused(c);
  const token = linkToken(field("token"));
  const challenge = token
    ? await redeemLinkToken(db, { purposes: EMAIL_PURPOSES, token, now: clock.now() })
    : undefined;
  if (!challenge?.userId) return linkProblem(c, "email");
  const purpose = challenge.purpose === "change_email" ? "change_email" : "verify_email";
  let email: string;
  try {
    ({ email } = await completeEmailChallenge(c, challenge));
  } catch (error) {
    if (error instanceof ApiError && error.code === "invalid_grant") return linkProblem(c, "email");
    throw error;
  }
  return renderPage(c, <EmailVerifiedPage appName={appName(c)} purpose={purpose} email={email} />);
});

// ---- /reset-password -------------------------------------------------------------------

const resetForm = (
  c: Ctx,
  input: { email: string; token: string; error?: string },
  status: 200 | 400 = 200,
) =>
  renderPage(
    c,
    <ResetPasswordPage
      appName={appName(c)}
      email={input.email}
      token={input.token}
      csrf={csrfFieldValue(c, "reset-password")}
      minLength={c.get("deps").config.passwordMinLength}
      error={input.error}
    />,
    status,
  );

pageRoutes.get("/reset-password", async (c) => {
  const { db, clock } = c.get("deps");
  const token = linkToken(c.req.query("token"));
  const pending = token
    ? await findLinkChallenge(db, { purposes: RESET_PURPOSES, token, now: clock.now() })
    : undefined;
  if (!token || !pending?.userId) return linkProblem(c, "password");
  return resetForm(c, { email: pending.email, token });
});

pageRoutes.post("/reset-password", rateLimit("auth"), async (c) => {
  const { db, clock, config, hasher } = c.get("deps");
  const field = await readForm(c);
  if (!csrfAccepted(c, "reset-password", field(CSRF_FIELD))) return formRefused(c);
  const token = linkToken(field("token"));
  // Read, not used: a password the policy refuses leaves the link working.
  const pending = token
    ? await findLinkChallenge(db, { purposes: RESET_PURPOSES, token, now: clock.now() })
    : undefined;
  if (!token || !pending?.userId) return linkProblem(c, "password");
  let password: string;
  try {
    password = acceptNewPassword(field("new_password") ?? "", {
      email: pending.email,
      minLength: config.passwordMinLength,
      field: "new_password",
    });
  } catch (error) {
    if (!(error instanceof InvalidInput)) throw error;
    return resetForm(c, { email: pending.email, token, error: error.message }, 400);
  }
  // Hashed before the link is used, so a full hashing queue (503) does not burn it.
  const passwordHash = await hasher.hash(password);
  const challenge = await redeemLinkToken(db, {
    purposes: RESET_PURPOSES,
    token,
    now: clock.now(),
  });
  if (!challenge?.userId) return linkProblem(c, "password");
  try {
    await completePasswordReset(c, challenge, passwordHash);
  } catch (error) {
    if (error instanceof ApiError && error.code === "invalid_grant") {
      return linkProblem(c, "password");
    }
    throw error;
  }
  return renderPage(c, <PasswordChangedPage appName={appName(c)} />);
});

// ---- /assets ---------------------------------------------------------------------------

/** A generated asset, revalidated by ETag like the static ones. */
function generatedAsset(type: string, body: (accent: string) => string) {
  let cached: { accent: string; body: string; etag: string } | undefined;
  return async (c: Ctx) => {
    const accent = c.get("deps").config.accentColor;
    if (cached?.accent !== accent) {
      const text = body(accent);
      cached = { accent, body: text, etag: `"${(await sha256Base64url(text)).slice(0, 22)}"` };
    }
    const headers = {
      "Content-Type": type,
      "Cache-Control": "public, max-age=0, must-revalidate",
      ETag: cached.etag,
    };
    if (c.req.header("If-None-Match") === cached.etag) {
      return c.body(null, 304, headers);
    }
    return c.body(cached.body, 200, headers);
  };
}

pageRoutes.get("/assets/theme.css", generatedAsset("text/css; charset=utf-8", themeStylesheet));
pageRoutes.get("/assets/icon.svg", generatedAsset("image/svg+xml", iconSvg));

/** The pages' static files (static/assets/ → dist/static/assets/), from `deps.assets`. */
pageRoutes.get("/assets/*", async (c) => {
  const res = /^\/assets\/[a-z0-9-]+\.(css|svg)$/.test(c.req.path)
    ? await c.get("deps").assets?.fetch(c.req.raw)
    : undefined;
  if (!res || res.status === 404) {
    // The API's JSON 404, as for /docs/assets (not a page: nobody reads a stylesheet's error).
    return renderError(new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}`), c);
  }
  // A copy: a fetched response's headers are immutable, and the app adds its own.
  return new Response(res.body, res);
});
