import type { JWTPayload } from "jose";
import { TesseraVerifyError } from "../errors.ts";
import type { TesseraClaims } from "../types.ts";

/**
 * Claims every Tessera access token carries (RFC 9068 §2.2 plus `client_id`); jose checks
 * they are present, this module checks their types.
 */
export const REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "jti", "client_id"] as const;

const REQUIRED_STRINGS = ["sub", "jti", "client_id"] as const;
const OPTIONAL_STRINGS = ["sid", "scope"] as const;

/**
 * Narrows a payload jose has verified (signature, `iss`, `aud`, `exp`, `nbf`, presence) to
 * {@link TesseraClaims}. Also refuses an `iat` in the future beyond the tolerance: jose only
 * checks `iat` when a maximum token age is set, and a token issued "later" is not one the
 * issuer could have signed yet.
 */
export function checkClaims(payload: JWTPayload, nowS: number, toleranceS: number): TesseraClaims {
  for (const name of REQUIRED_STRINGS) {
    const value = payload[name];
    if (typeof value !== "string" || value === "") throw invalid(name);
  }
  for (const name of OPTIONAL_STRINGS) {
    if (payload[name] !== undefined && typeof payload[name] !== "string") throw invalid(name);
  }
  if (typeof payload.iat !== "number" || !Number.isFinite(payload.iat)) throw invalid("iat");
  if (payload.iat > nowS + toleranceS) {
    throw new TesseraVerifyError("token_not_yet_valid", "The token is not valid yet");
  }
  return payload as TesseraClaims;
}

const invalid = (claim: string) =>
  new TesseraVerifyError("invalid_claims", `The token's "${claim}" claim is invalid`);
