/**
 * The one list of JWS algorithms Tessera access tokens may use. Passed explicitly to jose
 * everywhere a token is verified, so `none`, HS* and anything else are refused.
 */
export const ACCESS_TOKEN_ALGORITHMS = ["EdDSA", "ES256", "RS256"] as const;

/** A JWS algorithm Tessera signs access tokens with. */
export type AccessTokenAlgorithm = (typeof ACCESS_TOKEN_ALGORITHMS)[number];
