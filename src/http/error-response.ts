import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { DomainError, type KnownDomainError } from "../errors.ts";
import { loggableError } from "../lib/safe-error.ts";
import { ApiError, type ErrorCode } from "./api-error.ts";
import type { AppEnv } from "./app-env.ts";

/** Hono's own HTTP exceptions (validators, body parsing) by status. */
const HONO_STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  400: "invalid_request",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "too_many_requests",
  503: "temporarily_unavailable",
};

const retryAfter = (seconds: number) => ({
  "Retry-After": String(Math.max(1, Math.ceil(seconds))),
});

/**
 * The one mapping from domain errors to the HTTP error shape (docs/design/errors.md).
 * RFC 6750 §3.1 for access tokens, RFC 6749 §5.2 for grants and clients.
 */
export function apiErrorFromDomain(error: KnownDomainError): ApiError {
  switch (error.code) {
    case "invalid_input":
      return new ApiError("invalid_request", error.message, {
        issues: [{ path: error.field, message: error.detail }],
      });
    case "invalid_access_token":
      return new ApiError("invalid_token", error.message, {
        headers: { "WWW-Authenticate": 'Bearer error="invalid_token"' },
      });
    case "invalid_refresh_token":
      return new ApiError("invalid_grant", error.message);
    case "invalid_client":
      return new ApiError("invalid_client", error.message, {
        headers: { "WWW-Authenticate": 'Basic realm="tessera", charset="UTF-8"' },
      });
    case "throttled":
      return new ApiError("too_many_requests", error.message, {
        headers: retryAfter(error.retryAfterS),
      });
    case "hasher_busy":
      return new ApiError("temporarily_unavailable", error.message, {
        headers: retryAfter(error.retryAfterS),
      });
    // The reason stays in the log (the caller logs it); the answer is generic.
    case "upstream_token_invalid":
      return new ApiError("invalid_grant", "The subject_token is not valid");
    case "upstream_sign_in_failed":
      return new ApiError("invalid_grant", error.message);
    case "account_exists":
      return new ApiError("account_exists", error.message);
    case "last_identity":
      return new ApiError("last_identity", error.message);
    // Operator CLI only; never thrown below a route.
    case "provider_exists":
      return new ApiError("invalid_request", error.message);
  }
}

/**
 * Turns anything thrown below a route into an {@link ApiError}: API errors as they are,
 * domain errors through {@link apiErrorFromDomain}, Hono's validator exceptions by status.
 * Anything else is a bug: logged with the request id (no bound SQL values), answered as a
 * bare 500 `server_error`.
 */
export function toApiError(error: unknown, c: Context<AppEnv>): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof DomainError) return apiErrorFromDomain(error as KnownDomainError);
  const honoCode = error instanceof HTTPException ? HONO_STATUS_CODES[error.status] : undefined;
  if (error instanceof HTTPException && honoCode) {
    const accepted = c.req.path.startsWith("/oauth/")
      ? "application/x-www-form-urlencoded or application/json"
      : "application/json";
    const description =
      honoCode === "unsupported_media_type"
        ? `Unsupported Content-Type; send ${accepted}`
        : error.message || honoCode;
    return new ApiError(honoCode, description);
  }
  c.get("deps").logger.error("unhandled_error", {
    request_id: c.get("requestId"),
    route: c.req.routePath,
    ...loggableError(error),
  });
  return new ApiError("server_error", "Internal server error");
}

/** Renders an error as the documented JSON shape, `no-store`, with the error's headers. */
export function renderError(error: unknown, c: Context<AppEnv>): Response {
  const apiError = toApiError(error, c);
  return c.json(apiError.toJSON(), apiError.status, {
    "Cache-Control": "no-store",
    ...apiError.options.headers,
  });
}
