import { endBrowserSession, readBrowserSession } from "../http/authorize-flow.ts";
import {
  renderErrorPage,
  renderLogoutPage,
  renderSignedOutPage,
} from "../http/authorize-pages.tsx";
import { CSRF_FIELD, csrfAccepted } from "../http/form-csrf.ts";
import { validateLogoutRequest } from "../http/logout-request.ts";
import { rateLimit } from "../http/middleware/rate-limit/index.ts";
import { readForm } from "../http/read-form.ts";
import { recordEvent } from "../http/record-event.ts";
import { createRouter } from "../http/router.ts";
import { renderFormRefused, renderPageError } from "../pages/page-error.tsx";
import { findUserById } from "../users/users.ts";

/**
 * OpenID Connect RP-Initiated Logout 1.0: `GET /oauth/logout` validates the parameters
 * (`validateLogoutRequest`) and asks "Sign out of APP_NAME?" — a link alone signs nobody
 * out; the page's POST (CSRF-checked, parameters validated again) ends the browser session
 * and answers 303 to the registered `post_logout_redirect_uri` with `state`, or "You are
 * signed out". A bad request is an error page, never a redirect.
 */
export const logoutRoutes = createRouter();

logoutRoutes.onError(renderPageError);

const LOGOUT_PARAMS = ["id_token_hint", "client_id", "post_logout_redirect_uri", "state"] as const;

/** The logout parameters from a query or a form, each a string or absent. */
const logoutParams = (read: (name: string) => string | undefined) =>
  Object.fromEntries(LOGOUT_PARAMS.map((name) => [name, read(name)])) as Record<
    (typeof LOGOUT_PARAMS)[number],
    string | undefined
  >;

const invalidLogout = (c: Parameters<typeof renderErrorPage>[0], reason: string) =>
  renderErrorPage(c, 400, "This sign-out link is not valid", reason);

logoutRoutes.get("/oauth/logout", async (c) => {
  const params = logoutParams((name) => c.req.query(name));
  const validated = await validateLogoutRequest(c, params);
  if (typeof validated === "string") return invalidLogout(c, validated);
  const session = await readBrowserSession(c);
  const user = session ? await findUserById(c.get("deps").db, session.userId) : undefined;
  return renderLogoutPage(c, {
    hidden: params,
    postLogoutRedirectUri: validated.postLogoutRedirectUri,
    clientName: validated.client?.name,
    email: user?.email,
  });
});

logoutRoutes.post("/oauth/logout", rateLimit("auth"), async (c) => {
  const field = await readForm(c);
  if (!csrfAccepted(c, "logout", field(CSRF_FIELD))) return renderFormRefused(c);
  // Validated again: the hidden fields came back from the browser.
  const validated = await validateLogoutRequest(c, logoutParams(field));
  if (typeof validated === "string") return invalidLogout(c, validated);
  const ended = await endBrowserSession(c);
  if (ended) {
    await recordEvent(c, { type: "logout", userId: ended.userId });
    c.get("deps").logger.info("logout", {
      request_id: c.get("requestId"),
      user_id: ended.userId,
      via: "page",
    });
  }
  if (validated.postLogoutRedirectUri) {
    const url = new URL(validated.postLogoutRedirectUri);
    if (validated.state !== undefined) url.searchParams.set("state", validated.state);
    return c.redirect(url.toString(), 303);
  }
  return renderSignedOutPage(c);
});
