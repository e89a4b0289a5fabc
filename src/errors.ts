/**
 * Domain errors: what a domain module (tokens, sessions, passwords, rate limits, clients,
 * keys, providers, identities) throws when an operation is refused. They know nothing of HTTP; the HTTP layer maps
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
  | "hasher_busy"
  | "upstream_token_invalid"
  | "upstream_sign_in_failed"
  | "account_exists"
  | "last_identity"
  | "provider_exists";

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

/**
 * An upstream provider's id_token (the native exchange's `subject_token`) was refused: bad
 * signature, unknown issuer, wrong audience, expired, nonce missing, wrong or already used.
 * `reason` is for the log; the caller only learns "not valid".
 */
export class UpstreamTokenInvalid extends DomainError {
  readonly code = "upstream_token_invalid";
  constructor(readonly reason: string) {
    super("The subject_token is not valid");
    this.name = "UpstreamTokenInvalid";
  }
}

/**
 * Signing in through an upstream provider failed: the browser leg's state, code exchange,
 * id_token or API answer was refused (`reason`, for the log), or the provider shared no email
 * address for a new identity (then the message says so).
 */
export class UpstreamSignInFailed extends DomainError {
  readonly code = "upstream_sign_in_failed";
  /** The pending authorization request of the browser leg, once its state row was taken. */
  readonly requestId?: string;
  /** The provider answered the callback with `error=` (e.g. the person cancelled). */
  readonly providerError?: { error: string; description?: string };
  constructor(
    readonly reason: string,
    message = "Signing in with the provider failed",
    details: { requestId?: string; providerError?: { error: string; description?: string } } = {},
  ) {
    super(message);
    this.name = "UpstreamSignInFailed";
    if (details.requestId !== undefined) this.requestId = details.requestId;
    if (details.providerError !== undefined) this.providerError = details.providerError;
  }
}

/**
 * An upstream sign-in found an account with the same email, but one side has not verified
 * the address, so the identity is not linked (docs/design/upstream.md#identities-and-linking).
 */
export class AccountExists extends DomainError {
  readonly code = "account_exists";
  constructor() {
    super(
      "An account with this email already exists; sign in to it another way, then link this provider",
    );
    this.name = "AccountExists";
  }
}

/** Unlinking this identity would leave the account no way in (no password, no other identity). */
export class LastIdentity extends DomainError {
  readonly code = "last_identity";
  constructor() {
    super("This identity is the account's last way to sign in; set a password first");
    this.name = "LastIdentity";
  }
}

/** An upstream provider with this name is already configured (operator CLI). */
export class ProviderExists extends DomainError {
  readonly code = "provider_exists";
  constructor(readonly providerName: string) {
    super("A provider with this name already exists");
    this.name = "ProviderExists";
  }
}

/** Every concrete domain error: `switch (error.code)` narrows to the class. */
export type KnownDomainError =
  | InvalidInput
  | InvalidAccessToken
  | InvalidRefreshToken
  | InvalidClient
  | Throttled
  | HasherBusy
  | UpstreamTokenInvalid
  | UpstreamSignInFailed
  | AccountExists
  | LastIdentity
  | ProviderExists;
