import type { Child } from "hono/jsx";
import { CSRF_FIELD } from "../http/form-csrf.ts";

/**
 * A form that POSTs to this origin with its CSRF field (`src/http/form-csrf.ts`) and what the
 * POST acts on — the link token, or the pending authorization request — as hidden fields, so
 * the page works without JavaScript and without them in the POST's URL.
 */
export function PageForm(props: {
  action: string;
  csrf: string;
  token?: string;
  /** More hidden fields, in this order. */
  hidden?: Record<string, string | undefined>;
  children?: Child;
}) {
  return (
    <form method="post" action={props.action}>
      <input type="hidden" name={CSRF_FIELD} value={props.csrf} />
      {props.token !== undefined ? <input type="hidden" name="token" value={props.token} /> : null}
      {Object.entries(props.hidden ?? {}).map(([name, value]) =>
        value !== undefined ? <input type="hidden" name={name} value={value} /> : null,
      )}
      {props.children}
    </form>
  );
}

/**
 * A labelled input: label, hint, input, and when the value was refused the reason right
 * under it (`aria-invalid`, and `aria-describedby` naming hint and reason).
 */
export function Field(props: {
  id: string;
  label: string;
  type: "text" | "email" | "password";
  name: string;
  autocomplete: string;
  value?: string;
  readonly?: boolean;
  required?: boolean;
  autofocus?: boolean;
  hint?: string;
  error?: string;
}) {
  const hintId = props.hint ? `${props.id}-hint` : undefined;
  const errorId = props.error ? `${props.id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.hint ? (
        <p class="hint" id={hintId}>
          {props.hint}
        </p>
      ) : null}
      <input
        id={props.id}
        type={props.type}
        name={props.name}
        autocomplete={props.autocomplete}
        value={props.value}
        readonly={props.readonly}
        required={props.required}
        autofocus={props.autofocus}
        spellcheck={props.type === "password" ? false : undefined}
        autocapitalize={props.type === "text" ? undefined : "none"}
        aria-invalid={props.error ? "true" : undefined}
        aria-describedby={describedBy}
      />
      {props.error ? (
        <p class="field-error" id={errorId}>
          <svg viewBox="0 0 20 20" aria-hidden="true" focusable="false">
            <circle cx="10" cy="10" r="8" />
            <path d="M10 6v4.5M10 13.5v.01" />
          </svg>
          <span>{props.error}</span>
        </p>
      ) : null}
    </div>
  );
}

export function SubmitButton(props: {
  /** A second button beside the main one (e.g. Deny) is `secondary`. */
  variant?: "primary" | "secondary";
  /** Sent as `name=value` by the button that was pressed (Allow / Deny). */
  name?: string;
  value?: string;
  children?: Child;
}) {
  return (
    <button
      class={props.variant === "secondary" ? "button button-secondary" : "button"}
      type="submit"
      name={props.name}
      value={props.value}
    >
      {props.children}
    </button>
  );
}
