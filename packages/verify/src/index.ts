/**
 * `@tessera/verify` (also `tessera/verify`): verify Tessera access tokens offline in another service, on Node,
 * Workers, Deno or Bun. Depends on jose only (Hono for types, when the middleware is used).
 *
 * @example
 * ```ts
 * import { createVerifier } from "@tessera/verify";
 * const verifier = createVerifier({ issuer: "https://auth.example.com", audience: "https://api.example.com" });
 * const claims = await verifier.verify(token);
 * ```
 * @packageDocumentation
 */
export { createVerifier, type Verifier, type VerifierOptions } from "./create-verifier.ts";
export { TesseraVerifyError, type TesseraVerifyErrorCode } from "./errors.ts";
export { requireScope } from "./hono/require-scope.ts";
export { type TesseraEnv, type TesseraVariables, tesseraAuth } from "./hono/tessera-auth.ts";
export { ACCESS_TOKEN_ALGORITHMS, type AccessTokenAlgorithm } from "./lib/algorithms.ts";
export type { Clock, FetchLike, TesseraClaims } from "./types.ts";
export {
  ACCESS_TOKEN_TYP,
  type AccessTokenKeyResolver,
  type AccessTokenRules,
  verifyAccessTokenJwt,
} from "./verify-access-token.ts";
