/**
 * Domain errors: what a domain module (tokens, sessions, passwords, rate limits, clients,
 * keys) throws when an operation is refused. They know nothing of HTTP; the HTTP layer maps
 * each `code` to a status and the JSON error shape in one place (`src/http/error-response.ts`,
 * see docs/design/errors.md). Messages are fixed sentences that never carry a secret, a
 * token or a stored value, so they may be shown to the caller.
 */

/** Every domain error's stable code. */
export type DomainErrorCode =
  | "invalid_input"
  | "invalid_access_token"
  | "invalid_refresh_token"
  | "invalid_client"
  | "throttled"
  | "hasher_busy";

/** The base of every domain error; `code` is stable, branch on it or on the class. */
export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;
}

/** A value the caller sent breaks a rule (e.g. a password the policy refuses). */
export class InvalidInput extends DomainError {
  readonly code = "invalid_input";
  /**
   * @param field - the request field at fault, e.g. `password` or `new_password`.
   * @param message - what is wrong, shown to the caller.
   * @param detail - a shorter note for the field's validation issue (default: `message`).
   */
  constructor(
    readonly field: string,
    message: string,
    readonly detail: string = message,
  ) {
    super(message);
    this.name = "InvalidInput";
  }
}

/**
 * An access token was refused: bad signature, wrong issuer or audience, expired, missing or
 * mistyped claims, or no session where one is required. `reason` is the verifier's code (see
 * `TesseraVerifyErrorCode` in @tessera/verify) for the log; the caller only learns "invalid".
 */
export class InvalidAccessToken extends DomainError {
  readonly code = "invalid_access_token";
  constructor(readonly reason: string) {
    super("The access token is invalid or expired");
    this.name = "InvalidAccessToken";
  }
}

/** A refresh token was forged, unknown, superseded, expired, revoked or another client's. */
export class InvalidRefreshToken extends DomainError {
  readonly code = "invalid_refresh_token";
  constructor() {
    super("The refresh token is invalid, expired or revoked");
    this.name = "InvalidRefreshToken";
  }
}

/** Client authentication failed (RFC 6749 §2.3): unknown client, wrong secret, malformed credentials. */
export class InvalidClient extends DomainError {
  readonly code = "invalid_client";
  constructor(message = "Client authentication failed") {
    super(message);
    this.name = "InvalidClient";
  }
}

/** Too many attempts (per IP or per account); try again after `retryAfterS` seconds. */
export class Throttled extends DomainError {
  readonly code = "throttled";
  constructor(
    readonly retryAfterS: number,
    message = "Too many attempts; retry later",
  ) {
    super(message);
    this.name = "Throttled";
  }
}

/** The password hasher's wait queue is full: shed load rather than queue without bound. */
export class HasherBusy extends DomainError {
  readonly code = "hasher_busy";
  readonly retryAfterS = 1;
  constructor() {
    super("The service is busy; retry shortly");
    this.name = "HasherBusy";
  }
}

/** Every concrete domain error: `switch (error.code)` narrows to the class. */
export type KnownDomainError =
  | InvalidInput
  | InvalidAccessToken
  | InvalidRefreshToken
  | InvalidClient
  | Throttled
  | HasherBusy;
