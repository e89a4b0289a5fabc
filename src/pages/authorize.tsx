import { Field, PageForm, SubmitButton } from "./form.tsx";
import { Layout, StatusIcon } from "./layout.tsx";

/**
 * The hosted pages of the authorization flow (docs/decisions.md, "Hosted pages"): sign in,
 * sign up, forgot password, consent, logout. Plain props in, markup out; the renderers in
 * `src/http/authorize-pages.tsx` fill the props and pick the policy, the routes in
 * `src/routes/authorize-pages.tsx` read the forms.
 */

/** `/authorize/<page>?request=<id>`: a link between the flow's pages. */
export const flowHref = (page: "sign-in" | "sign-up" | "forgot-password", requestId: string) =>
  `/authorize/${page}?request=${encodeURIComponent(requestId)}`;

/** Errors next to the fields they are about. */
export type FieldErrors = { email?: string; password?: string };

/** An upstream provider's button on the sign-in page (docs/design/upstream.md). */
export type ProviderButton = { name: string; displayName: string };

/**
 * Sign in (`autocomplete="username"` / `current-password`) or create an account
 * (`autocomplete="email"` / `new-password`, the policy as a hint). A refused attempt shows the
 * form again with the reason next to its field and the email kept; never the password.
 * Under the password form, one small form per upstream provider ("Continue with …", a POST
 * to `/authorize/upstream`, no script); `notice` is what went wrong with one of those.
 */
export function SignInPage(props: {
  appName: string;
  mode: "sign-in" | "sign-up";
  clientName: string;
  requestId: string;
  csrf: string;
  email?: string;
  errors?: FieldErrors;
  /** `PASSWORD_MIN_LENGTH`, for the sign-up hint. */
  minLength: number;
  /** Providers with a browser leg, in order; none: no "or" and no buttons. */
  providers?: readonly ProviderButton[];
  /** The CSRF field of the providers' forms (form `upstream`). */
  upstreamCsrf?: string;
  /** Why a sign-in with a provider did not go through, above the form. */
  notice?: string;
}) {
  const signUp = props.mode === "sign-up";
  const title = signUp ? "Create your account" : "Sign in";
  const errors = props.errors ?? {};
  const failed =
    errors.email !== undefined || errors.password !== undefined || props.notice !== undefined;
  const providers = props.providers ?? [];
  const upstreamCsrf = providers.length > 0 ? props.upstreamCsrf : undefined;
  // Focus where the person has to act: the refused field, else the first empty one.
  const focusPassword =
    errors.email === undefined && (errors.password !== undefined || Boolean(props.email));
  return (
    <Layout appName={props.appName} title={failed ? `Error: ${title}` : title}>
      <h1>{title}</h1>
      <p class="lead">
        to continue to <strong>{props.clientName}</strong>
      </p>
      {props.notice ? <Notice>{props.notice}</Notice> : null}
      <PageForm
        action={signUp ? "/authorize/sign-up" : "/authorize/sign-in"}
        csrf={props.csrf}
        hidden={{ request: props.requestId }}
      >
        <Field
          id="email"
          label="Email"
          type="email"
          name="email"
          autocomplete={signUp ? "email" : "username"}
          value={props.email}
          required
          autofocus={!focusPassword}
          error={errors.email}
        />
        <Field
          id="password"
          label="Password"
          type="password"
          name="password"
          autocomplete={signUp ? "new-password" : "current-password"}
          required
          autofocus={focusPassword}
          hint={
            signUp
              ? `At least ${props.minLength} characters. A few unrelated words make a strong one.`
              : undefined
          }
          error={errors.password}
        />
        <SubmitButton>{signUp ? "Create account" : "Sign in"}</SubmitButton>
      </PageForm>
      {signUp ? null : (
        <p class="aside">
          <a href={flowHref("forgot-password", props.requestId)}>Forgot password?</a>
        </p>
      )}
      {upstreamCsrf !== undefined ? (
        <div class="upstream">
          <p class="divider">
            <span>or</span>
          </p>
          {providers.map((provider) => (
            <PageForm
              action="/authorize/upstream"
              csrf={upstreamCsrf}
              hidden={{ request: props.requestId }}
            >
              <SubmitButton variant="secondary" name="provider" value={provider.name}>
                Continue with {provider.displayName}
              </SubmitButton>
            </PageForm>
          ))}
        </div>
      ) : null}
      <p class="footnote">
        {signUp ? (
          <>
            Already have an account? <a href={flowHref("sign-in", props.requestId)}>Sign in</a>
          </>
        ) : (
          <>
            New to {props.appName}?{" "}
            <a href={flowHref("sign-up", props.requestId)}>Create an account</a>
          </>
        )}
      </p>
    </Layout>
  );
}

/** A message about the whole page (not one field), above the form, read out when it loads. */
function Notice(props: { children?: string }) {
  return (
    <div class="notice" role="alert">
      <svg viewBox="0 0 20 20" aria-hidden="true" focusable="false">
        <circle cx="10" cy="10" r="8" />
        <path d="M10 6v4.5M10 13.5v.01" />
      </svg>
      <p>{props.children}</p>
    </div>
  );
}

/** "Forgot password?": the address to send a reset link to. */
export function ForgotPasswordPage(props: {
  appName: string;
  requestId?: string;
  csrf: string;
  email?: string;
  error?: string;
}) {
  const title = "Reset your password";
  return (
    <Layout appName={props.appName} title={props.error ? `Error: ${title}` : title}>
      <h1>{title}</h1>
      <p class="lead">
        Enter the email address of your {props.appName} account. We'll email you a link to choose a
        new password.
      </p>
      <PageForm
        action="/authorize/forgot-password"
        csrf={props.csrf}
        hidden={{ request: props.requestId }}
      >
        <Field
          id="email"
          label="Email"
          type="email"
          name="email"
          autocomplete="email"
          value={props.email}
          required
          autofocus
          error={props.error}
        />
        <SubmitButton>Send reset link</SubmitButton>
      </PageForm>
      {props.requestId ? (
        <p class="footnote">
          Remembered it? <a href={flowHref("sign-in", props.requestId)}>Back to sign in</a>
        </p>
      ) : null}
    </Layout>
  );
}

/**
 * "Check your inbox": after "forgot password" (the same words whether or not the address has
 * an account), or after a sign-up that must verify the address first.
 */
export function CheckInboxPage(props: {
  appName: string;
  reason: "reset_password" | "verify_email";
  email: string;
  requestId?: string;
  clientName?: string;
  /** How long the link works, e.g. "15 minutes". */
  validFor: string;
}) {
  const reset = props.reason === "reset_password";
  return (
    <Layout appName={props.appName} title="Check your inbox">
      <StatusIcon kind="success" />
      <h1>Check your inbox</h1>
      {reset ? (
        <p class="lead">
          If <strong>{props.email}</strong> has a {props.appName} account, we've sent it a link to
          choose a new password. The link works for {props.validFor}.
        </p>
      ) : (
        <p class="lead">
          We've sent a link to <strong>{props.email}</strong>. Open it to verify your address
          {props.clientName ? (
            <>
              , then sign in to continue to <strong>{props.clientName}</strong>
            </>
          ) : null}
          . The link works for {props.validFor}.
        </p>
      )}
      {props.requestId ? (
        <p class="footnote">
          {reset ? "Set a new password? " : "Verified? "}
          <a href={flowHref("sign-in", props.requestId)}>Sign in</a>
        </p>
      ) : null}
    </Layout>
  );
}

/** What a scope lets the client do, in plain words; a scope of its own is shown as given. */
const SCOPE_WORDS: Record<string, string> = {
  openid: "Confirm it's you",
  profile: "Your basic profile",
  email: "Your email address",
  offline_access: "Stay signed in (access while you're away)",
};

export const scopeWords = (scope: string): string => SCOPE_WORDS[scope] ?? scope;

/**
 * A third-party client asks for access: who, as whom, what (each scope in plain words), and
 * where the browser goes next. Allow and Deny are the one form's two buttons.
 */
export function ConsentPage(props: {
  appName: string;
  clientName: string;
  requestId: string;
  csrf: string;
  scopes: readonly string[];
  /** The signed-in account's address. */
  email?: string;
  /** Where the answer goes: the redirect URI's host, or the app's scheme. */
  returnTo?: string;
}) {
  const title = `Allow ${props.clientName} to access your account?`;
  const scopes = [...new Set(props.scopes.map(scopeWords))];
  return (
    <Layout appName={props.appName} title={title}>
      <h1>{title}</h1>
      {props.email ? (
        <p class="lead">
          Signed in to {props.appName} as <strong>{props.email}</strong>
        </p>
      ) : null}
      {scopes.length > 0 ? (
        <>
          <h2 id="scopes-heading">{props.clientName} will be able to see</h2>
          <ul class="scopes" aria-labelledby="scopes-heading">
            {scopes.map((words) => (
              <li>{words}</li>
            ))}
          </ul>
        </>
      ) : null}
      <PageForm action="/authorize/consent" csrf={props.csrf} hidden={{ request: props.requestId }}>
        <div class="actions">
          <SubmitButton name="decision" value="allow">
            Allow
          </SubmitButton>
          <SubmitButton name="decision" value="deny" variant="secondary">
            Deny
          </SubmitButton>
        </div>
      </PageForm>
      <p class="footnote">
        {props.returnTo ? (
          <>
            Either way you go back to <strong>{props.returnTo}</strong>.{" "}
          </>
        ) : null}
        Only allow apps you trust.
      </p>
    </Layout>
  );
}

/**
 * RP-initiated logout (`GET /oauth/logout`): a confirmation, so that a link alone cannot sign
 * anyone out; the POST ends the browser session.
 */
export function LogoutPage(props: {
  appName: string;
  csrf: string;
  /** The validated parameters, sent again with the POST (and validated again there). */
  hidden: Record<string, string | undefined>;
  clientName?: string;
  email?: string;
}) {
  const title = `Sign out of ${props.appName}?`;
  return (
    <Layout appName={props.appName} title={title}>
      <h1>{title}</h1>
      {props.email ? (
        <p class="lead">
          You're signed in as <strong>{props.email}</strong> in this browser.
        </p>
      ) : null}
      {props.clientName ? (
        <p class="lead">
          <strong>{props.clientName}</strong> asked to sign you out.
        </p>
      ) : null}
      <PageForm action="/oauth/logout" csrf={props.csrf} hidden={props.hidden}>
        <SubmitButton>Sign out</SubmitButton>
      </PageForm>
      <p class="footnote">Don't want to sign out? Close this page: you stay signed in.</p>
    </Layout>
  );
}

/** After the logout POST, when there is nowhere to send the browser back to. */
export function SignedOutPage(props: { appName: string }) {
  return (
    <Layout appName={props.appName} title="You are signed out">
      <StatusIcon kind="success" />
      <h1>You are signed out</h1>
      <p class="lead">
        You're signed out of {props.appName} in this browser. You can close this page.
      </p>
    </Layout>
  );
}
