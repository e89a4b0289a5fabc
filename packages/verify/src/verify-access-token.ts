import { type CompactJWSHeaderParameters, type FlattenedJWSInput, jwtVerify } from "jose";
import { TesseraVerifyError } from "./errors.ts";
import type { AccessTokenAlgorithm } from "./lib/algorithms.ts";
import { checkClaims, REQUIRED_CLAIMS } from "./lib/claims.ts";
import { checkHeader } from "./lib/header-policy.ts";
import { mapJoseError } from "./lib/map-jose-error.ts";
import type { TesseraClaims } from "./types.ts";

/** RFC 9068 §2.1: the `typ` of a JWT access token (jose also accepts `application/at+jwt`). */
export const ACCESS_TOKEN_TYP = "at+jwt";

/**
 * Finds the public key for a token's protected header, after the header policy passed.
 * Throw (any error, or jose's `JWKSNoMatchingKey`) when no published key matches.
 */
export type AccessTokenKeyResolver = (
  header: CompactJWSHeaderParameters,
  token: FlattenedJWSInput,
) => Promise<CryptoKey | Uint8Array> | CryptoKey | Uint8Array;

/** What a verifier decides; the token decides none of it (RFC 8725 §3.1). */
export type AccessTokenRules = {
  /** The exact `iss` expected. */
  issuer: string;
  /** The audience(s) to require in `aud`; `null` skips the check (introspection does). */
  audience: string | readonly string[] | null;
  /** The accepted `alg` values. */
  algorithms: readonly AccessTokenAlgorithm[];
  /** Allowed clock skew for `exp`, `nbf` and `iat`, in seconds. */
  clockTolerance: number;
  /** The time to check against, in milliseconds since the epoch. */
  now: number;
};

/**
 * The one set of acceptance rules for Tessera access tokens, used by this SDK's verifier and
 * by Tessera's own endpoints alike:
 * - header: `alg` in the allow-list (never `none` or HS*), `typ: at+jwt` (RFC 9068 §4), no
 *   `jku`/`jwk`/`x5u`/`x5c` (RFC 8725 §3.10) and no `crit` (RFC 7515 §4.1.11);
 * - signature with the key `resolveKey` returns;
 * - claims: `iss`, `aud` (unless `null`), `exp`/`nbf` within the tolerance, `iat` not in the
 *   future beyond it, `sub`/`jti`/`client_id` non-empty strings, `sid`/`scope` strings when
 *   present (RFC 9068 §2.2, RFC 7519 §4.1).
 *
 * @throws {@link TesseraVerifyError} with a stable `code` for every refusal; an error thrown
 *   by `resolveKey` that is not about the token passes through unchanged.
 */
export async function verifyAccessTokenJwt(
  token: string,
  resolveKey: AccessTokenKeyResolver,
  rules: AccessTokenRules,
): Promise<TesseraClaims> {
  if (typeof token !== "string" || token === "") {
    throw new TesseraVerifyError("malformed_token", "The token is not a well-formed JWT");
  }
  try {
    const { payload } = await jwtVerify(
      token,
      (header, jws) => {
        checkHeader(header);
        return resolveKey(header, jws);
      },
      {
        issuer: rules.issuer,
        audience: rules.audience === null ? undefined : (rules.audience as string | string[]),
        algorithms: [...rules.algorithms],
        typ: ACCESS_TOKEN_TYP,
        clockTolerance: rules.clockTolerance,
        currentDate: new Date(rules.now),
        requiredClaims: [...REQUIRED_CLAIMS],
      },
    );
    return checkClaims(payload, Math.floor(rules.now / 1000), rules.clockTolerance);
  } catch (error) {
    throw mapJoseError(error);
  }
}
