import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  ConsentPage,
  type FieldErrors,
  LogoutPage,
  SignedOutPage,
  SignInPage,
} from "../pages/authorize.tsx";
import { ProblemPage } from "../pages/problems.tsx";
import { redirectTargetSource, renderPage } from "../pages/render.ts";
import { authorizationServer } from "../providers/authorization-server.ts";
import type { UpstreamProvider } from "../providers/provider.ts";
import { listProviders } from "../providers/provider-store.ts";
import { findUserById } from "../users/users.ts";
import type { AppEnv } from "./app-env.ts";
import { loadPendingAuthorization, readBrowserSession } from "./authorize-flow.ts";
import { csrfFieldValue } from "./form-csrf.ts";

/**
 * The renderers the authorization flow (`./authorize-flow.ts`) and the hosted pages' routes
 * (`src/routes/authorize-pages.tsx`) answer with: they fill the components of
 * `src/pages/authorize.tsx` and pick the policy. The one place where src/http renders a page
 * (docs/design/layers.md): the flow decides which page comes next.
 *
 * form-action (docs/decisions.md, "Hosted pages"): the sign-in, sign-up and consent forms'
 * POST may answer 303 to the client's redirect URI, and Chromium checks `form-action` on that
 * redirect too, so those pages' policy lists the validated redirect URI's origin (or scheme).
 * The sign-in page's "Continue with …" forms answer 303 to a provider's authorization
 * endpoint, so it lists those origins as well (docs/design/upstream.md, "The browser leg").
 */

type Ctx = Context<AppEnv>;

/**
 * `renderPage` types its answer as maybe-async (a JSX tree may hold async components); these
 * pages have none, so `c.html` answers at once, and the flow's error answers stay synchronous.
 */
const now = (res: Response | Promise<Response>) => res as Response;
type Pending = NonNullable<Awaited<ReturnType<typeof loadPendingAuthorization>>>;

/** The `form-action` sources for a pending request's pages. */
const toClient = (redirectUri: string): string[] => {
  const source = redirectTargetSource(redirectUri);
  return source ? [source] : [];
};

/** How long the sign-in page waits for a provider's (uncached) discovery document. */
const DISCOVERY_WAIT_MS = 1500;

/**
 * The `form-action` source of a provider's authorization endpoint, where its "Continue with …"
 * POST answers 303 to: from its metadata (discovery is cached; GitHub's and Apple's endpoints
 * are fixed). A provider whose discovery fails or is slow gets its issuer's origin — where the
 * endpoint is for every kind in practice — and the page is not held up (the button's POST
 * then says the provider cannot be reached, if it still cannot).
 */
async function providerSource(provider: UpstreamProvider, now: number): Promise<string[]> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const endpoint = await Promise.race([
    authorizationServer(provider, now).then(
      (as) => as.authorization_endpoint ?? provider.issuer,
      () => provider.issuer,
    ),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(provider.issuer), DISCOVERY_WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
  const source = redirectTargetSource(endpoint);
  return source ? [source] : [];
}

/** An error page (bad client or redirect URI, expired request): never a redirect. */
export function renderErrorPage(
  c: Ctx,
  status: ContentfulStatusCode,
  title: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return now(
    renderPage(
      c,
      <ProblemPage appName={c.get("deps").config.appName} title={title} message={message} />,
      status,
      headers,
    ),
  );
}

/** A request id that is unknown or has expired (30 minutes), or a form without one. */
export const renderExpiredRequest = (c: Ctx): Response =>
  renderErrorPage(c, 400, "This sign-in has expired", "Go back to the app and start again.");

/**
 * The sign-in (or sign-up) page of a pending request; with `errors` (or `error`, shown at the
 * password), the same form again with the reason beside its field and the email kept;
 * `notice`: why a provider's sign-in did not go through, above the form. Providers with a
 * browser leg get a "Continue with …" form each, their origins in `form-action`.
 * `pending`: the request when the caller has it already (saves a read).
 */
export async function renderSignInPage(
  c: Ctx,
  props: {
    requestId: string;
    mode?: "sign-in" | "sign-up";
    email?: string;
    errors?: FieldErrors;
    error?: string;
    notice?: string;
    pending?: Pending;
    status?: ContentfulStatusCode;
    headers?: Record<string, string>;
  },
): Promise<Response> {
  const pending = props.pending ?? (await loadPendingAuthorization(c, props.requestId));
  if (!pending) return renderExpiredRequest(c);
  const mode = props.mode ?? "sign-in";
  const errors = props.error ? { password: props.error, ...props.errors } : props.errors;
  const { appName, passwordMinLength } = c.get("deps").config;
  const providers = (await listProviders(c.get("deps").db)).filter((p) => p.browserLeg);
  const at = c.get("deps").clock.now();
  const providerSources = await Promise.all(providers.map((p) => providerSource(p, at)));
  return renderPage(
    c,
    <SignInPage
      appName={appName}
      mode={mode}
      clientName={pending.client.name}
      requestId={props.requestId}
      csrf={csrfFieldValue(c, mode)}
      email={props.email}
      errors={errors}
      minLength={passwordMinLength}
      providers={providers.map(({ name, displayName }) => ({ name, displayName }))}
      upstreamCsrf={providers.length > 0 ? csrfFieldValue(c, "upstream") : undefined}
      notice={props.notice}
    />,
    props.status ?? (errors || props.notice ? 400 : 200),
    props.headers,
    {
      formAction: [
        ...new Set([...toClient(pending.request.redirectUri), ...providerSources.flat()]),
      ],
    },
  );
}

/** What the consent page shows as the destination: the redirect URI's host, or an app's scheme. */
function returnTo(redirectUri: string): string | undefined {
  try {
    const url = new URL(redirectUri);
    return url.protocol === "https:" || url.protocol === "http:" ? url.host : url.protocol;
  } catch {
    return undefined;
  }
}

/** The consent page: the client, the scopes in plain words, Allow / Deny. */
export async function renderConsentPage(
  c: Ctx,
  props: {
    requestId: string;
    clientName?: string;
    scopes?: readonly string[];
    pending?: Pending;
    /** The signed-in user's address (read from the browser session when not given). */
    email?: string;
  },
): Promise<Response> {
  const pending = props.pending ?? (await loadPendingAuthorization(c, props.requestId));
  if (!pending) return renderExpiredRequest(c);
  let email = props.email;
  if (email === undefined) {
    const session = await readBrowserSession(c);
    email = session ? (await findUserById(c.get("deps").db, session.userId))?.email : undefined;
  }
  return renderPage(
    c,
    <ConsentPage
      appName={c.get("deps").config.appName}
      clientName={props.clientName ?? pending.client.name}
      requestId={props.requestId}
      csrf={csrfFieldValue(c, "consent")}
      scopes={props.scopes ?? pending.request.scope}
      email={email}
      returnTo={returnTo(pending.request.redirectUri)}
    />,
    200,
    {},
    { formAction: toClient(pending.request.redirectUri) },
  );
}

/**
 * "Sign out of APP_NAME?" (`GET /oauth/logout`, parameters already validated): its form sends
 * `hidden` (the parameters) to `POST /oauth/logout`, which validates them again, ends the
 * browser session and redirects to `postLogoutRedirectUri` (listed in form-action) or shows
 * {@link renderSignedOutPage}.
 */
export function renderLogoutPage(
  c: Ctx,
  props: {
    hidden: Record<string, string | undefined>;
    postLogoutRedirectUri?: string;
    clientName?: string;
    email?: string;
  },
): Response {
  return now(
    renderPage(
      c,
      <LogoutPage
        appName={c.get("deps").config.appName}
        csrf={csrfFieldValue(c, "logout")}
        hidden={props.hidden}
        clientName={props.clientName}
        email={props.email}
      />,
      200,
      {},
      { formAction: props.postLogoutRedirectUri ? toClient(props.postLogoutRedirectUri) : [] },
    ),
  );
}

/** "You are signed out": after the logout POST when there is nowhere to go back to. */
export function renderSignedOutPage(c: Ctx): Response {
  return now(renderPage(c, <SignedOutPage appName={c.get("deps").config.appName} />));
}
