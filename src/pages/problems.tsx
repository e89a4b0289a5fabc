import { Layout, StatusIcon } from "./layout.tsx";

/** A page that says what went wrong and what to do; no form, nothing to retry blindly. */
export function ProblemPage(props: {
  appName: string;
  title: string;
  message: string;
  /** Shown small under the message, e.g. the request id to quote to support. */
  reference?: string;
}) {
  return (
    <Layout appName={props.appName} title={props.title}>
      <StatusIcon kind="error" />
      <h1>{props.title}</h1>
      <p class="lead">{props.message}</p>
      {props.reference ? <p class="footnote">Reference: {props.reference}</p> : null}
    </Layout>
  );
}

/** An unknown, expired or used link (the same page for each: the link proves nothing). */
export function LinkProblemPage(props: {
  appName: string;
  /** What the link was for, and how long such links work. */
  purpose: "email" | "password";
  validFor: string;
}) {
  const again =
    props.purpose === "password"
      ? "Ask for a new password reset email from the app's sign-in screen"
      : "Ask the app to send a new verification email";
  return (
    <ProblemPage
      appName={props.appName}
      title="This link is no longer valid"
      message={`Links in our emails work once, for ${props.validFor}, and a newer email replaces older links. ${again}, then use the link in the newest one.`}
    />
  );
}

/** A form POST without its CSRF cookie or with a field that does not match it: 403. */
export function FormRefusedPage(props: { appName: string }) {
  return (
    <ProblemPage
      appName={props.appName}
      title="This form could not be sent"
      message="It did not carry the security check this site sets in your browser. Allow cookies for this site, open the link in your email again, and retry."
    />
  );
}
