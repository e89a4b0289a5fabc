import type { Context } from "hono";
import type { ErrorCode } from "../http/api-error.ts";
import type { AppEnv } from "../http/app-env.ts";
import { toApiError } from "../http/error-response.ts";
import { FormRefusedPage, ProblemPage } from "./problems.tsx";
import { renderPage } from "./render.ts";

/** Errors thrown below a page route, as pages: a 429 or 503 says when to retry, a 500 its reference. */
const PROBLEM_TEXT: Partial<Record<ErrorCode, { title: string; message: string }>> = {
  too_many_requests: {
    title: "Too many attempts",
    message: "Wait a minute, then try again.",
  },
  temporarily_unavailable: {
    title: "Busy right now",
    message: "The service is handling many requests. Try again in a moment.",
  },
  user_exists: {
    title: "This address is taken",
    message: "Another account uses this address now, so this account cannot move to it.",
  },
};

/**
 * The hosted pages' error handler (docs/decisions.md, "Hosted pages", errors as pages): the one
 * domain→HTTP mapping, shown as a page with the same status and headers.
 */
export function renderPageError(error: Error, c: Context<AppEnv>) {
  const apiError = toApiError(error, c); // logs anything unexpected, with the request id
  const text = PROBLEM_TEXT[apiError.code] ?? {
    title: apiError.status >= 500 ? "Something went wrong" : "This request could not be handled",
    message:
      apiError.status >= 500
        ? "Try again later. If it keeps happening, contact support with the reference below."
        : apiError.description,
  };
  return renderPage(
    c,
    <ProblemPage
      appName={c.get("deps").config.appName}
      title={text.title}
      message={text.message}
      reference={apiError.status >= 500 ? c.get("requestId") : undefined}
    />,
    apiError.status,
    apiError.options.headers,
  );
}

/** A form POST without its CSRF cookie or with a field that does not match it: 403. */
export const renderFormRefused = (c: Context<AppEnv>) =>
  renderPage(c, <FormRefusedPage appName={c.get("deps").config.appName} />, 403);
