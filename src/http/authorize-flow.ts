import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import type { Client } from "../clients/client.ts";
import { findClient } from "../clients/client-store.ts";
import { issueAuthorizationCode } from "../oauth/authorization-codes.ts";
import {
  type AuthorizationRequest,
  type AuthorizationRequestError,
  authorizationResponseUrl,
} from "../oauth/authorization-request.ts";
import { deletePendingRequest, findPendingRequest } from "../oauth/authorization-requests.ts";
import { hasConsent, recordConsent } from "../oauth/consents.ts";
import {
  type BrowserSession,
  createBrowserSession,
  endBrowserSessionRow,
  findBrowserSession,
} from "../sso/browser-sessions.ts";
import { findUserById, type User } from "../users/users.ts";
import type { AppEnv } from "./app-env.ts";
import { renderConsentPage, renderErrorPage, renderSignInPage } from "./authorize-pages.tsx";
import { hostCookieOptions, readHostCookie } from "./host-cookie.ts";
import { invalidCredentials } from "./start-session.ts";

/** Sent as `__Host-tessera_sso` on https (Secure, Path=/, no Domain); plain on http. */
const SSO_COOKIE = "tessera_sso";
const SSO_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** The live browser session of this request's SSO cookie, if any. */
export async function readBrowserSession(c: Context<AppEnv>): Promise<BrowserSession | undefined> {
  const token = readHostCookie(c, SSO_COOKIE);
  if (!token || !SSO_TOKEN.test(token)) return undefined;
  const { db, clock } = c.get("deps");
  return findBrowserSession(db, { token, now: clock.now() });
}

/**
 * Starts the browser SSO session after a sign-in on a hosted page: a row plus an HttpOnly,
 * SameSite=Lax cookie (Lax: the client's redirect to /oauth/authorize is a top-level
 * cross-site navigation that must carry it). Lives as long as a session may (SESSION_MAX_AGE).
 */
export async function signInBrowser(
  c: Context<AppEnv>,
  user: Pick<User, "id">,
  authTime?: number,
  /** The hash a password sign-in was checked against (see `startSession`'s race check). */
  verifiedHash?: string,
): Promise<BrowserSession> {
  const { db, clock, config } = c.get("deps");
  const now = clock.now();
  const { token, session } = await createBrowserSession(db, {
    userId: user.id,
    authTime: authTime ?? now,
    now,
    maxAgeMs: config.sessionMaxAge * 1000,
  });
  // A password change that landed while this sign-in was hashing: the sign-in fails, as the
  // JSON login does (checked after the insert, so one of the two sees the other).
  if (
    verifiedHash !== undefined &&
    (await findUserById(db, user.id))?.passwordHash !== verifiedHash
  ) {
    await endBrowserSessionRow(db, { id: session.id, now });
    throw invalidCredentials();
  }
  setCookie(c, SSO_COOKIE, token, {
    path: "/",
    httpOnly: true,
    sameSite: "Lax",
    maxAge: config.sessionMaxAge,
    ...hostCookieOptions(c),
  });
  return session;
}

/** Ends this browser's SSO session (logout): the row and the cookie. */
export async function endBrowserSession(c: Context<AppEnv>): Promise<BrowserSession | undefined> {
  const session = await readBrowserSession(c);
  if (session) {
    await endBrowserSessionRow(c.get("deps").db, {
      id: session.id,
      now: c.get("deps").clock.now(),
    });
  }
  deleteCookie(c, SSO_COOKIE, {
    path: "/",
    ...hostCookieOptions(c),
  });
  return session;
}

/** A pending authorization request (id from a hosted page's hidden field) and its client. */
export async function loadPendingAuthorization(
  c: Context<AppEnv>,
  requestId: string,
): Promise<{ request: AuthorizationRequest; client: Client } | undefined> {
  const { db, clock } = c.get("deps");
  const request = await findPendingRequest(db, { id: requestId, now: clock.now() });
  if (!request) return undefined;
  const client = await findClient(db, request.clientId);
  return client ? { request, client } : undefined;
}

/** Records that the user granted the client these scopes (the consent page's Allow). */
export async function grantConsent(
  c: Context<AppEnv>,
  userId: string,
  clientId: string,
  scope: readonly string[],
): Promise<void> {
  const { db, clock } = c.get("deps");
  await recordConsent(db, { userId, clientId, scope, now: clock.now() });
}

/** Answers a request error: an error page, or a redirect to the client (RFC 6749 §4.1.2.1). */
export function authorizationError(c: Context<AppEnv>, error: AuthorizationRequestError): Response {
  if (error.kind === "page") {
    return renderErrorPage(c, 400, "This sign-in link is not valid", error.description);
  }
  return c.redirect(
    authorizationResponseUrl(error.redirectUri, c.get("deps").config.issuer, {
      error: error.error,
      error_description: error.description,
      state: error.state,
    }),
    303,
  );
}

/**
 * The next step of an authorization request (OIDC Core §3.1.2.3–§3.1.2.5), after
 * /oauth/authorize or after a hosted page (sign-in, sign-up, consent):
 * - no usable browser sign-in (none, `prompt=login` not yet satisfied, older than `max_age`):
 *   the sign-in page, or `login_required` for `prompt=none`;
 * - a third-party client without the user's consent to these scopes (or `prompt=consent`):
 *   the consent page, or `consent_required` for `prompt=none`;
 * - else a code, and the 303 back to the client with `code`, `state` and `iss` (RFC 9207).
 * `signedInNow`: the browser session was started by this very request (satisfies
 * `prompt=login` and `max_age`); `consentedNow` likewise for `prompt=consent`.
 */
export async function continueAuthorization(
  c: Context<AppEnv>,
  requestId: string,
  options: { signedInNow?: boolean; consentedNow?: boolean; browserSession?: BrowserSession } = {},
): Promise<Response> {
  const { db, clock, config } = c.get("deps");
  const pending = await loadPendingAuthorization(c, requestId);
  if (!pending) {
    return renderErrorPage(
      c,
      400,
      "This sign-in has expired",
      "Go back to the app and start again.",
    );
  }
  const { request, client } = pending;
  const now = clock.now();
  const fail = async (error: string, description: string) => {
    await deletePendingRequest(db, requestId);
    return authorizationError(c, {
      kind: "redirect",
      redirectUri: request.redirectUri,
      state: request.state,
      error,
      description,
    });
  };

  const session = options.browserSession ?? (await readBrowserSession(c));
  const fresh = options.signedInNow === true;
  // A sign-in made by this very request satisfies max_age whatever the clock moved since
  // (max_age=0 would otherwise send the user back to the sign-in page forever).
  const tooOld =
    !fresh &&
    session !== undefined &&
    request.maxAge !== undefined &&
    now - session.authTime > request.maxAge * 1000;
  if (!session || tooOld || (request.prompt.includes("login") && !fresh)) {
    if (request.prompt.includes("none")) {
      return fail("login_required", "The user is not signed in");
    }
    return renderSignInPage(c, {
      requestId,
      ...(request.loginHint ? { email: request.loginHint } : {}),
    });
  }

  const needsConsent =
    !client.firstParty &&
    ((request.prompt.includes("consent") && !options.consentedNow) ||
      !(await hasConsent(db, {
        userId: session.userId,
        clientId: client.clientId,
        scope: request.scope,
      })));
  if (needsConsent) {
    if (request.prompt.includes("none")) {
      return fail("consent_required", "The user has not approved this client");
    }
    return renderConsentPage(c, {
      requestId,
      clientName: client.name,
      scopes: request.scope,
      // The session may have started in this very request (its cookie is not read back yet).
      email: (await findUserById(db, session.userId))?.email,
    });
  }

  const code = await issueAuthorizationCode(db, {
    request,
    userId: session.userId,
    authTime: session.authTime,
    browserSessionId: session.id,
    now,
  });
  await deletePendingRequest(db, requestId);
  return c.redirect(
    authorizationResponseUrl(request.redirectUri, config.issuer, { code, state: request.state }),
    303,
  );
}
