import { Field, PageForm, SubmitButton } from "./form.tsx";
import { Layout, StatusIcon } from "./layout.tsx";

/**
 * `GET /reset-password?token=…`, and the same form again when the new password was refused
 * (`error`, shown beside the field; the link is still unused). The account's address is a
 * read-only `username` field so that password managers file the new password under it.
 */
export function ResetPasswordPage(props: {
  appName: string;
  email: string;
  token: string;
  csrf: string;
  minLength: number;
  error?: string;
}) {
  const title = "Choose a new password";
  return (
    <Layout appName={props.appName} title={props.error ? `Error: ${title}` : title}>
      <h1>{title}</h1>
      <p class="lead">
        For your {props.appName} account. Every device signed in to it will be signed out.
      </p>
      <PageForm action="/reset-password" csrf={props.csrf} token={props.token}>
        <Field
          id="username"
          label="Email"
          type="email"
          name="username"
          autocomplete="username"
          value={props.email}
          readonly
        />
        <Field
          id="new_password"
          label="New password"
          type="password"
          name="new_password"
          autocomplete="new-password"
          required
          autofocus
          hint={`At least ${props.minLength} characters. A few unrelated words make a strong one.`}
          error={props.error}
        />
        <SubmitButton>Change password</SubmitButton>
      </PageForm>
      <p class="footnote">
        Didn't ask to reset your password? Close this page: your password stays as it is.
      </p>
    </Layout>
  );
}

/** After `POST /reset-password`: the new password is set and every session has ended. */
export function PasswordChangedPage(props: { appName: string }) {
  return (
    <Layout appName={props.appName} title="Password changed">
      <StatusIcon kind="success" />
      <h1>Password changed</h1>
      <p class="lead">
        You can now sign in with it in the app. Devices that were signed in have been signed out.
      </p>
    </Layout>
  );
}
