import { PageForm, SubmitButton } from "./form.tsx";
import { Layout, StatusIcon } from "./layout.tsx";

/** What an email link proves: the account's address, or the new address of a change. */
export type EmailLinkPurpose = "verify_email" | "change_email";

/**
 * `GET /verify-email?token=…`: one button. Opening the page uses nothing (mail scanners
 * follow links); the POST it sends does.
 */
export function VerifyEmailPage(props: {
  appName: string;
  purpose: EmailLinkPurpose;
  email: string;
  token: string;
  csrf: string;
}) {
  const change = props.purpose === "change_email";
  const title = change ? "Confirm your new email address" : "Verify your email address";
  return (
    <Layout appName={props.appName} title={title}>
      <h1>{title}</h1>
      {change ? (
        <p class="lead">
          Your {props.appName} account will use <strong>{props.email}</strong> from now on. The
          previous address gets a notice.
        </p>
      ) : (
        <p class="lead">
          Confirm that <strong>{props.email}</strong> is your address for {props.appName}.
        </p>
      )}
      <PageForm action="/verify-email" csrf={props.csrf} token={props.token}>
        <SubmitButton>{change ? "Confirm new address" : "Verify email address"}</SubmitButton>
      </PageForm>
      <p class="footnote">
        {change
          ? "Didn't ask for this change? Close this page: nothing changes."
          : "Didn't create an account? Close this page: nothing changes."}
      </p>
    </Layout>
  );
}

/** After `POST /verify-email`: the address is proven (or the account moved to it). */
export function EmailVerifiedPage(props: {
  appName: string;
  purpose: EmailLinkPurpose;
  email: string;
}) {
  const change = props.purpose === "change_email";
  const title = change ? "Email address changed" : "Your email address is verified";
  return (
    <Layout appName={props.appName} title={title}>
      <StatusIcon kind="success" />
      <h1>{title}</h1>
      {change ? (
        <p class="lead">
          Your account now uses <strong>{props.email}</strong>. Sign in with it from now on.
        </p>
      ) : (
        <p class="lead">
          <strong>{props.email}</strong> is confirmed as your address for {props.appName}.
        </p>
      )}
      <p class="lead">You can close this page and go back to the app.</p>
    </Layout>
  );
}
