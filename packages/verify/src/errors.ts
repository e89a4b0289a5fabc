/**
 * The stable reasons a token is refused. Services may branch on them; the set only grows.
 *
 * | code | meaning |
 * |---|---|
 * | `token_expired` | `exp` is past (beyond the clock tolerance) |
 * | `token_not_yet_valid` | `nbf` or `iat` lies in the future (beyond the clock tolerance) |
 * | `invalid_signature` | the signature does not verify with the published key |
 * | `invalid_issuer` | `iss` is not the configured issuer |
 * | `invalid_audience` | `aud` does not contain the configured audience |
 * | `invalid_typ` | the header's `typ` is not `at+jwt` (RFC 9068 §4) |
 * | `unknown_key` | no published key has the token's `kid`, even after a refetch |
 * | `algorithm_not_allowed` | `alg` is `none`, HS*, not in the allow-list, or not the key's |
 * | `unsupported_header` | `jku`, `x5u`, `jwk`, `x5c` or `crit` in the header |
 * | `malformed_token` | not a compact JWS/JWT, or no `kid` |
 * | `invalid_claims` | a required claim is missing or has the wrong type |
 * | `jwks_unavailable` | the issuer's metadata or JWKS could not be fetched or used |
 * | `token_inactive` | (`introspect: true`) the issuer says the token is no longer active: its session was revoked or logged out |
 * | `introspection_unavailable` | (`introspect: true`) the introspection endpoint could not be asked or refused the credentials |
 */
export type TesseraVerifyErrorCode =
  | "token_expired"
  | "token_not_yet_valid"
  | "invalid_signature"
  | "invalid_issuer"
  | "invalid_audience"
  | "invalid_typ"
  | "unknown_key"
  | "algorithm_not_allowed"
  | "unsupported_header"
  | "malformed_token"
  | "invalid_claims"
  | "jwks_unavailable"
  | "token_inactive"
  | "introspection_unavailable";

/**
 * The one error `tessera/verify` throws for a refused token or an unusable key set.
 * `message` is a fixed, human-readable sentence: it never contains the token, a claim
 * value or a key, so it is safe to log and to send back in an `error_description`.
 *
 * @example
 * ```ts
 * try {
 *   await verifier.verify(token);
 * } catch (error) {
 *   if (error instanceof TesseraVerifyError && error.code === "token_expired") refresh();
 * }
 * ```
 */
export class TesseraVerifyError extends Error {
  /** Why the token was refused; stable across versions. */
  readonly code: TesseraVerifyErrorCode;

  /**
   * @param code - the stable reason.
   * @param message - a fixed sentence without secrets.
   * @param options - `cause` for network failures behind `jwks_unavailable`.
   */
  constructor(code: TesseraVerifyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TesseraVerifyError";
    this.code = code;
  }
}
