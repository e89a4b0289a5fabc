import { errors } from "jose";
import { TesseraVerifyError } from "../errors.ts";

/**
 * Translates what `jwtVerify` throws into a {@link TesseraVerifyError}. jose's messages and
 * its `payload` (the unverified claims) are not carried over: each code gets a fixed message.
 * Errors that are not about the token (a bug, a hook's own error) pass through unchanged.
 */
export function mapJoseError(error: unknown): unknown {
  if (error instanceof TesseraVerifyError) return error;
  if (error instanceof errors.JWTExpired) {
    return new TesseraVerifyError("token_expired", "The token has expired");
  }
  if (error instanceof errors.JWTClaimValidationFailed) return claimError(error);
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new TesseraVerifyError("algorithm_not_allowed", "The token's alg is not allowed");
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new TesseraVerifyError("invalid_signature", "The token's signature is invalid");
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new TesseraVerifyError("unknown_key", "No published key matches the token");
  }
  if (error instanceof errors.JOSENotSupported) {
    // jose raises this for a `crit` extension it does not recognise (RFC 7515 §4.1.11).
    return new TesseraVerifyError("unsupported_header", "The token uses an unsupported feature");
  }
  if (error instanceof errors.JOSEError) {
    return new TesseraVerifyError("malformed_token", "The token is not a well-formed JWT");
  }
  return error;
}

function claimError(error: InstanceType<typeof errors.JWTClaimValidationFailed>) {
  const { claim, reason } = error;
  if (reason === "check_failed") {
    switch (claim) {
      case "iss":
        return new TesseraVerifyError("invalid_issuer", "The token's issuer is not accepted");
      case "aud":
        return new TesseraVerifyError("invalid_audience", "The token's audience is not accepted");
      case "typ":
        // RFC 9068 §4: the resource server MUST check typ is at+jwt.
        return new TesseraVerifyError("invalid_typ", 'The token\'s typ is not "at+jwt"');
      case "nbf":
      case "iat":
        return new TesseraVerifyError("token_not_yet_valid", "The token is not valid yet");
    }
  }
  const why = reason === "missing" ? "missing" : "invalid";
  return new TesseraVerifyError("invalid_claims", `The token's "${claim}" claim is ${why}`);
}
