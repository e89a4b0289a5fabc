import type { Context } from "hono";
import { AccountExists, UpstreamSignInFailed } from "../errors.ts";
import type { AppEnv } from "../http/app-env.ts";
import {
  continueAuthorization,
  loadPendingAuthorization,
  signInBrowser,
} from "../http/authorize-flow.ts";
import {
  renderErrorPage,
  renderExpiredRequest,
  renderSignInPage,
} from "../http/authorize-pages.tsx";
import { rateLimit } from "../http/middleware/rate-limit/index.ts";
import { recordEvent } from "../http/record-event.ts";
import { createRouter } from "../http/router.ts";
import { setUpstreamCookie, takeUpstreamCookie } from "../http/upstream-cookie.ts";
import { signInWithUpstream } from "../identities/sign-in-with-upstream.ts";
import { renderPageError } from "../pages/page-error.tsx";
import { callbackUrl, PROVIDER_NAME, type UpstreamProvider } from "../providers/provider.ts";
import { findProvider } from "../providers/provider-store.ts";
import {
  finishUpstreamAuthorization,
  startUpstreamAuthorization,
} from "../providers/upstream-leg.ts";
import { readFlowForm } from "./authorize-pages.tsx";

/**
 * The browser leg of social sign-in (docs/design/upstream.md, "The browser leg"):
 * `POST /authorize/upstream` (a "Continue with …" form of the sign-in page) starts an
 * authorization-code + PKCE leg at the provider and binds it to this browser with the
 * `tessera_upstream` cookie; `GET|POST /oauth/callback/:provider` (POST: Apple's `form_post`)
 * finishes it, resolves the account, starts the browser session and hands over to
 * `continueAuthorization`, exactly as a password sign-in does.
 *
 * What goes wrong is shown on the pending request's sign-in page (cancelled at the provider,
 * an account that exists but cannot be linked, a refused answer), or, when the callback cannot
 * be tied to a leg this browser started, on the "sign-in has expired" page. Reasons go to the
 * log with the request id; nothing the provider sent reaches a page unescaped.
 */
export const upstreamRoutes = createRouter();

type Ctx = Context<AppEnv>;

upstreamRoutes.onError(renderPageError);

/** What the provider may tell a person in `error_description` (RFC 6749 §4.1.2.1's characters). */
const DESCRIPTION = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,200}$/;

/** Logs why a leg did not go through (no token, code or profile: the reason only). */
const logFailure = (c: Ctx, provider: string, reason: string) =>
  c.get("deps").logger.warn("upstream_sign_in_failed", {
    request_id: c.get("requestId"),
    provider,
    reason,
  });

/** The configured provider `name` names, when it has a browser leg. */
async function browserProvider(c: Ctx, name: string | undefined) {
  if (name === undefined || !PROVIDER_NAME.test(name)) return undefined;
  const provider = await findProvider(c.get("deps").db, name);
  return provider?.browserLeg ? provider : undefined;
}

// ---- POST /authorize/upstream -------------------------------------------------------------

upstreamRoutes.post("/authorize/upstream", rateLimit("auth"), async (c) => {
  const read = await readFlowForm(c, "upstream");
  if (read instanceof Response) return read;
  const { field, requestId, pending } = read;
  const provider = await browserProvider(c, field("provider"));
  if (!provider) {
    return renderSignInPage(c, {
      requestId,
      pending,
      notice: "This way of signing in is not available. Choose another one.",
    });
  }
  const { db, clock, config } = c.get("deps");
  let started: Awaited<ReturnType<typeof startUpstreamAuthorization>>;
  try {
    started = await startUpstreamAuthorization(db, provider, {
      requestId,
      callbackUrl: callbackUrl(config.issuer, provider.name),
      now: clock.now(),
    });
  } catch (error) {
    // The provider's discovery document could not be read, most likely: not this person's doing.
    logFailure(c, provider.name, startFailure(error));
    return renderSignInPage(c, {
      requestId,
      pending,
      notice: `${provider.displayName} cannot be reached right now. Try again in a moment, or sign in another way.`,
      status: 502,
    });
  }
  setUpstreamCookie(c, started.state);
  // The sign-in page's form-action lists the provider's origin: Chromium checks it on this 303.
  return c.redirect(started.url.toString(), 303);
});

/** Why starting a leg failed, for the log: the domain reason, else the error's name and code. */
function startFailure(error: unknown): string {
  if (error instanceof UpstreamSignInFailed) return error.reason;
  if (!(error instanceof Error)) return "unknown";
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? `${error.name} (${code})` : error.name;
}

// ---- GET|POST /oauth/callback/:provider ---------------------------------------------------

/** The callback: `params` is the query (GET) or the form body (Apple's `form_post`). */
async function callback(c: Ctx, params: URLSearchParams): Promise<Response> {
  const name = c.req.param("provider") ?? "";
  const { db, clock, config, logger, providerSecretKey } = c.get("deps");
  // The cookie goes whatever happens next: one callback per leg.
  const boundHere = takeUpstreamCookie(c, params.get("state"));
  const provider = await browserProvider(c, name);
  const expired = (reason: string) => {
    logFailure(c, PROVIDER_NAME.test(name) ? name : "(unknown)", reason);
    return renderErrorPage(
      c,
      400,
      "This sign-in has expired",
      "Go back to the app and start again.",
    );
  };
  if (!provider) return expired("unknown_provider");
  // Login CSRF: a code and state from a leg another browser started are not taken here.
  if (!boundHere) return expired("state_not_bound_to_browser");

  let finished: Awaited<ReturnType<typeof finishUpstreamAuthorization>>;
  try {
    finished = await finishUpstreamAuthorization(db, {
      provider,
      state: params.get("state") ?? "",
      params,
      callbackUrl: callbackUrl(config.issuer, provider.name),
      secretKey: providerSecretKey,
      now: clock.now(),
    });
  } catch (error) {
    if (!(error instanceof UpstreamSignInFailed)) throw error;
    // No live leg for this state (expired, already finished, another provider's).
    if (error.requestId === undefined) return expired(error.reason);
    logFailure(c, provider.name, error.reason);
    return renderSignInPage(c, {
      requestId: error.requestId,
      notice: error.providerError
        ? providerRefusal(provider, error.providerError)
        : retryNotice(error.message),
    });
  }

  const { requestId, profile } = finished;
  const pending = await loadPendingAuthorization(c, requestId);
  if (!pending) return renderExpiredRequest(c);
  let signedIn: Awaited<ReturnType<typeof signInWithUpstream>>;
  try {
    signedIn = await signInWithUpstream(db, {
      provider,
      profile,
      now: clock.now(),
      // As password sign-in refuses an unproven address under EMAIL_VERIFICATION=required.
      requireVerifiedEmail: config.email.verification === "required",
    });
  } catch (error) {
    if (error instanceof AccountExists) {
      logFailure(c, provider.name, "account_exists");
      return renderSignInPage(c, {
        requestId,
        pending,
        ...(profile.email ? { email: profile.email } : {}),
        notice: accountExistsNotice(provider, profile.email),
        status: 409,
      });
    }
    if (error instanceof UpstreamSignInFailed) {
      logFailure(c, provider.name, error.reason);
      const unverified = error.reason === "email_not_verified";
      return renderSignInPage(c, {
        requestId,
        pending,
        ...(profile.email ? { email: profile.email } : {}),
        notice: unverified ? `${error.message}.` : retryNotice(error.message),
        status: unverified ? 403 : 400,
      });
    }
    throw error;
  }

  const { user, linked, created } = signedIn;
  const browserSession = await signInBrowser(c, user);
  if (created) await recordEvent(c, { type: "signup", userId: user.id });
  if (linked) await recordEvent(c, { type: "identity_linked", userId: user.id });
  await recordEvent(c, { type: "upstream_sign_in", userId: user.id });
  logger.info("login", {
    request_id: c.get("requestId"),
    user_id: user.id,
    via: "upstream",
    provider: provider.name,
    ...(created ? { created: true } : {}),
    ...(linked ? { linked: true } : {}),
  });
  return continueAuthorization(c, requestId, { signedInNow: true, browserSession });
}

/**
 * The provider's own answer (`error=…`, RFC 6749 §4.1.2.1; only read once the response's
 * state and `iss` were checked): "cancelled" for `access_denied`, else the provider's
 * description when it is plain text of a sensible length (escaped like every value).
 */
function providerRefusal(
  provider: UpstreamProvider,
  answer: { error: string; description?: string },
): string {
  if (answer.error === "access_denied")
    return `Sign-in with ${provider.displayName} was cancelled.`;
  const description = answer.description?.trim();
  return description && DESCRIPTION.test(description)
    ? `Sign-in with ${provider.displayName} did not go through: ${description}`
    : `Sign-in with ${provider.displayName} did not go through. Try again, or sign in another way.`;
}

/** A refused leg's message (fixed sentences from the domain), and what to do. */
const retryNotice = (message: string) =>
  `${message.replace(/\.?$/, ".")} Try again, or sign in another way.`;

/**
 * An account has this address, but one side has not verified it, so the identity is not
 * linked (docs/design/upstream.md, "Identities and linking").
 */
const accountExistsNotice = (provider: UpstreamProvider, email: string | null) =>
  `An account with ${email ?? "this email address"} already exists. Sign in with your password instead ` +
  `(“Forgot password?” sets one if it has none). ${provider.displayName} can be linked to it once ` +
  "the address is verified in both places.";

upstreamRoutes.get("/oauth/callback/:provider", rateLimit("auth"), async (c) => {
  // HEAD would run this handler (Hono answers HEAD with GET routes): a probe takes no leg.
  if (c.req.method === "HEAD") return c.body(null, 200, { "Cache-Control": "no-store" });
  return callback(c, new URL(c.req.url).searchParams);
});

// Apple's `response_mode=form_post`: a cross-site POST by design, so no CSRF field and no
// Sec-Fetch-Site check; the state bound to this browser's cookie stands in for both.
upstreamRoutes.post("/oauth/callback/:provider", rateLimit("auth"), async (c) =>
  callback(c, new URLSearchParams(await c.req.text())),
);
