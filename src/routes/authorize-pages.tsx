import type { Context } from "hono";
import { LINK_TTL_MS } from "../challenges/challenge-policy.ts";
import { InvalidInput, Throttled } from "../errors.ts";
import { ApiError } from "../http/api-error.ts";
import type { AppEnv } from "../http/app-env.ts";
import {
  authorizationError,
  continueAuthorization,
  grantConsent,
  loadPendingAuthorization,
  readBrowserSession,
  signInBrowser,
} from "../http/authorize-flow.ts";
import {
  renderErrorPage,
  renderExpiredRequest,
  renderSignInPage,
} from "../http/authorize-pages.tsx";
import { CSRF_FIELD, csrfAccepted, csrfFieldValue } from "../http/form-csrf.ts";
import { rateLimit } from "../http/middleware/rate-limit/index.ts";
import {
  requestPasswordReset,
  signInWithPassword,
  signUpWithPassword,
  welcomeNewAccount,
} from "../http/password-accounts.ts";
import { readForm } from "../http/read-form.ts";
import { recordEvent } from "../http/record-event.ts";
import { createRouter } from "../http/router.ts";
import { EmailSchema } from "../http/schemas.ts";
import { deletePendingRequest } from "../oauth/authorization-requests.ts";
import { CheckInboxPage, ForgotPasswordPage } from "../pages/authorize.tsx";
import { renderFormRefused, renderPageError } from "../pages/page-error.tsx";
import { renderPage } from "../pages/render.ts";

/**
 * The hosted pages of the authorization flow (docs/decisions.md, "Hosted pages"): the forms of
 * sign-in, sign-up, "forgot password", consent and RP-initiated logout, and the links between
 * them. `GET /oauth/authorize` (src/routes/authorize.ts) opens the first page; each POST here
 * is CSRF-checked, reads the pending request from its hidden `request` field, and hands over
 * to `continueAuthorization`, which answers with the next page or the 303 back to the client.
 * A refused attempt shows the form again with the reason beside its field, the email kept.
 */
export const authorizePageRoutes = createRouter();

type Ctx = Context<AppEnv>;

authorizePageRoutes.onError(renderPageError);

const appName = (c: Ctx) => c.get("deps").config.appName;

/** A pending request's id as `randomId` makes them; anything else is unknown. */
const REQUEST_ID = /^[A-Za-z0-9_-]{16,64}$/;
const requestIdOf = (value: string | undefined) =>
  value !== undefined && REQUEST_ID.test(value) ? value : undefined;

/**
 * The start of every form POST of the flow: the CSRF check for `form`, then the pending
 * authorization request its hidden `request` field names. A Response when either fails.
 * Also the start of "Continue with …" (`src/routes/upstream.ts`).
 */
export async function readFlowForm(c: Ctx, form: "sign-in" | "sign-up" | "consent" | "upstream") {
  const field = await readForm(c);
  if (!csrfAccepted(c, form, field(CSRF_FIELD))) return renderFormRefused(c);
  const requestId = requestIdOf(field("request"));
  const pending = requestId ? await loadPendingAuthorization(c, requestId) : undefined;
  if (!requestId || !pending) return renderExpiredRequest(c);
  return { field, requestId, pending };
}

/** "15 minutes", "24 hours". */
function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes % 60 !== 0) return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = minutes / 60;
  return `${hours} hour${hours === 1 ? "" : "s"}`;
}

/** "30 seconds", "2 minutes". */
const wait = (seconds: number) =>
  seconds < 90
    ? `${seconds} second${seconds === 1 ? "" : "s"}`
    : `${Math.ceil(seconds / 60)} minutes`;

/** The address as the JSON API normalises it (trimmed, lower case), or why it is refused. */
function readEmail(raw: string | undefined): { email: string } | { error: string; kept: string } {
  const parsed = EmailSchema.safeParse(raw ?? "");
  if (parsed.success) return { email: parsed.data };
  const kept = (raw ?? "").trim().slice(0, 254);
  return {
    kept,
    error:
      kept === "" ? "Enter your email address" : "Enter an email address like name@example.com",
  };
}

// ---- sign-in and sign-up pages (links between them) -------------------------------------

for (const mode of ["sign-in", "sign-up"] as const) {
  authorizePageRoutes.get(`/authorize/${mode}`, (c) => {
    const requestId = requestIdOf(c.req.query("request"));
    if (!requestId) return renderExpiredRequest(c);
    return renderSignInPage(c, { requestId, mode });
  });
}

// ---- POST /authorize/sign-in -------------------------------------------------------------

authorizePageRoutes.post("/authorize/sign-in", rateLimit("auth"), async (c) => {
  const read = await readFlowForm(c, "sign-in");
  if (read instanceof Response) return read;
  const { field, requestId, pending } = read;
  const again = (
    email: string,
    errors: { email?: string; password?: string },
    status: 400 | 403 | 429 = 400,
    headers: Record<string, string> = {},
  ) => renderSignInPage(c, { requestId, pending, email, errors, status, headers });

  const address = readEmail(field("email"));
  if ("error" in address) return again(address.kept, { email: address.error });
  const { email } = address;
  let signedIn: Awaited<ReturnType<typeof signInWithPassword>>;
  try {
    signedIn = await signInWithPassword(c, { email, password: field("password") ?? "" });
  } catch (error) {
    if (error instanceof ApiError && error.code === "invalid_grant") {
      return again(email, { password: "Wrong email or password. Check both and try again." });
    }
    if (error instanceof ApiError && error.code === "email_not_verified") {
      return again(
        email,
        { email: "Verify this address first: open the link we emailed to it, then sign in." },
        403,
      );
    }
    if (error instanceof Throttled) {
      return again(
        email,
        { password: `Too many failed attempts. Try again in ${wait(error.retryAfterS)}.` },
        429,
        { "Retry-After": String(error.retryAfterS) },
      );
    }
    if (error instanceof InvalidInput) return again(email, { password: error.message });
    throw error;
  }
  const { user, verifiedHash } = signedIn;
  const browserSession = await signInBrowser(c, user, undefined, verifiedHash);
  await recordEvent(c, { type: "login_succeeded", userId: user.id });
  c.get("deps").logger.info("login", {
    request_id: c.get("requestId"),
    user_id: user.id,
    via: "page",
  });
  return continueAuthorization(c, requestId, { signedInNow: true, browserSession });
});

// ---- POST /authorize/sign-up -------------------------------------------------------------

authorizePageRoutes.post("/authorize/sign-up", rateLimit("auth"), async (c) => {
  const read = await readFlowForm(c, "sign-up");
  if (read instanceof Response) return read;
  const { field, requestId, pending } = read;
  const again = (
    email: string,
    errors: { email?: string; password?: string },
    status: 400 | 409 | 429 = 400,
    headers: Record<string, string> = {},
  ) => renderSignInPage(c, { requestId, pending, mode: "sign-up", email, errors, status, headers });

  const address = readEmail(field("email"));
  if ("error" in address) return again(address.kept, { email: address.error });
  const { email } = address;
  let signup: Awaited<ReturnType<typeof signUpWithPassword>>;
  try {
    signup = await signUpWithPassword(c, { email, password: field("password") ?? "" });
  } catch (error) {
    if (error instanceof InvalidInput) return again(email, { password: error.message });
    if (error instanceof ApiError && error.code === "user_exists") {
      return again(
        email,
        { email: "An account with this address already exists. Sign in instead." },
        409,
      );
    }
    if (error instanceof Throttled) {
      return again(
        email,
        { email: `Too many emails to this address. Try again in ${wait(error.retryAfterS)}.` },
        429,
        { "Retry-After": String(error.retryAfterS) },
      );
    }
    throw error;
  }
  if (signup.status === "verification_sent") {
    // EMAIL_VERIFICATION=required: the same page for a new and a taken address; the flow goes
    // on once the address is verified and the person signs in.
    return renderPage(
      c,
      <CheckInboxPage
        appName={appName(c)}
        reason="verify_email"
        email={email}
        requestId={requestId}
        clientName={pending.client.name}
        validFor={duration(LINK_TTL_MS.verify_email)}
      />,
    );
  }
  const { user } = signup;
  const browserSession = await signInBrowser(c, user);
  await welcomeNewAccount(c, user);
  return continueAuthorization(c, requestId, { signedInNow: true, browserSession });
});

// ---- /authorize/forgot-password ----------------------------------------------------------

const forgotForm = (
  c: Ctx,
  input: { requestId?: string; email?: string; error?: string },
  status: 200 | 400 | 429 = 200,
  headers: Record<string, string> = {},
) =>
  renderPage(
    c,
    <ForgotPasswordPage
      appName={appName(c)}
      requestId={input.requestId}
      csrf={csrfFieldValue(c, "forgot-password")}
      email={input.email}
      error={input.error}
    />,
    status,
    headers,
  );

authorizePageRoutes.get("/authorize/forgot-password", (c) =>
  forgotForm(c, { requestId: requestIdOf(c.req.query("request")) }),
);

authorizePageRoutes.post("/authorize/forgot-password", rateLimit("auth"), async (c) => {
  const field = await readForm(c);
  if (!csrfAccepted(c, "forgot-password", field(CSRF_FIELD))) return renderFormRefused(c);
  const requestId = requestIdOf(field("request"));
  const address = readEmail(field("email"));
  if ("error" in address) {
    return forgotForm(c, { requestId, email: address.kept, error: address.error }, 400);
  }
  const { email } = address;
  try {
    // The JSON API's "forgot password": same limits, same work for unknown addresses.
    await requestPasswordReset(c, email);
  } catch (error) {
    if (!(error instanceof Throttled)) throw error;
    return forgotForm(
      c,
      { requestId, email, error: `Too many emails. Try again in ${wait(error.retryAfterS)}.` },
      429,
      { "Retry-After": String(error.retryAfterS) },
    );
  }
  return renderPage(
    c,
    <CheckInboxPage
      appName={appName(c)}
      reason="reset_password"
      email={email}
      requestId={requestId}
      validFor={duration(LINK_TTL_MS.reset_password)}
    />,
  );
});

// ---- POST /authorize/consent -------------------------------------------------------------

authorizePageRoutes.post("/authorize/consent", rateLimit("auth"), async (c) => {
  const read = await readFlowForm(c, "consent");
  if (read instanceof Response) return read;
  const { field, requestId, pending } = read;
  const { request, client } = pending;
  const browserSession = await readBrowserSession(c);
  // Signed out meanwhile (another tab): the flow asks for a sign-in again.
  if (!browserSession) return continueAuthorization(c, requestId);
  const decision = field("decision");
  if (decision === "deny") {
    await deletePendingRequest(c.get("deps").db, requestId);
    return authorizationError(c, {
      kind: "redirect",
      redirectUri: request.redirectUri,
      state: request.state,
      error: "access_denied",
      description: "The user denied the request",
    });
  }
  if (decision !== "allow") {
    return renderErrorPage(c, 400, "This form could not be sent", "Choose Allow or Deny.");
  }
  await grantConsent(c, browserSession.userId, client.clientId, request.scope);
  return continueAuthorization(c, requestId, { consentedNow: true, browserSession });
});
