/**
 * The one error type of the HTTP API and its JSON shape:
 * `{"error": code, "error_description": text, "issues"?: [...]}` (RFC 6749 §5.2, RFC 6750
 * §3.1). Domain errors become one of these in `error-response.ts`; see docs/design/errors.md.
 */

/** Stable error codes and the HTTP status each one answers with. */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_client: 401,
  invalid_token: 401,
  insufficient_scope: 403,
  forbidden: 403,
  email_not_verified: 403,
  not_found: 404,
  method_not_allowed: 405,
  user_exists: 409,
  account_exists: 409,
  last_identity: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_requests: 429,
  server_error: 500,
  temporarily_unavailable: 503,
} as const;

/** A stable, documented error code. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** One validation problem, as reported under `issues`. */
export type ValidationIssue = { path: string; message: string };

/** JSON body of every error response. */
export type ErrorBody = {
  error: ErrorCode;
  error_description: string;
  issues?: ValidationIssue[];
};

/**
 * An error that becomes an HTTP response. Throw it anywhere below a route; the app's
 * error handler renders it. `headers` carries e.g. `WWW-Authenticate` or `Retry-After`.
 */
export class ApiError extends Error {
  readonly status: (typeof ERROR_STATUS)[ErrorCode];
  constructor(
    readonly code: ErrorCode,
    readonly description: string,
    readonly options: { headers?: Record<string, string>; issues?: ValidationIssue[] } = {},
  ) {
    super(description);
    this.name = "ApiError";
    this.status = ERROR_STATUS[code];
  }

  /** The JSON body; never contains a stack, SQL or a secret. */
  toJSON(): ErrorBody {
    const body: ErrorBody = { error: this.code, error_description: this.description };
    if (this.options.issues) body.issues = this.options.issues;
    return body;
  }

  /** The web-standard response for this error. */
  toResponse(): Response {
    return Response.json(this.toJSON(), {
      status: this.status,
      headers: { "Cache-Control": "no-store", ...this.options.headers },
    });
  }
}

/** RFC 6750 §3: a request without credentials gets a bare challenge. */
export const missingBearerToken = () =>
  new ApiError("invalid_token", "A Bearer access token is required", {
    headers: { "WWW-Authenticate": "Bearer" },
  });
