import { createMiddleware } from "hono/factory";
import { InvalidAccessToken } from "../../../errors.ts";
import {
  type AccessTokenClaims,
  accessTokenSettings,
  verifyAccessToken,
} from "../../../tokens/access-token.ts";
import { missingBearerToken } from "../../api-error.ts";
import type { AppEnv } from "../../app-env.ts";

// RFC 6750 §2.1: `Bearer` (any case), one space, a b64token.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * Requires a valid Tessera access token in `Authorization: Bearer` and puts its claims on
 * `c.get("auth")`. No bearer token (or another scheme): 401 with a bare
 * `WWW-Authenticate: Bearer` challenge; a bad one:
 * 401 `invalid_token` with `error="invalid_token"` (RFC 6750 §3).
 */
export const requireAccessToken = createMiddleware<AppEnv>(async (c, next) => {
  // No Bearer credentials at all (absent, another scheme, nothing after "Bearer"): a bare
  // challenge. Bearer with something that is not a b64token (e.g. a JWS JSON serialization)
  // is an invalid token (RFC 6750 §3.1).
  const header = c.req.header("Authorization")?.trim() ?? "";
  const token = BEARER.exec(header)?.[1];
  if (!token && !/^Bearer\s+\S/i.test(header)) throw missingBearerToken();
  const { keys, config, clock, logger } = c.get("deps");
  const now = clock.now();
  let claims = token ? c.get("verifiedTokens").get(token, now) : undefined;
  if (!claims) {
    try {
      if (!token) throw new InvalidAccessToken("malformed_token");
      claims = await verifyAccessToken(keys, accessTokenSettings(config), token, now);
    } catch (error) {
      // The caller learns only "invalid"; the operator's log says why (never the token).
      if (error instanceof InvalidAccessToken) {
        logger.info("access_token_refused", {
          request_id: c.get("requestId"),
          reason: error.reason,
        });
      }
      throw error;
    }
    c.get("verifiedTokens").set(token, claims);
  }
  // verifyAccessToken requires `sid` by default: this is a user's session token.
  c.set("auth", claims as AccessTokenClaims & { sid: string });
  await next();
});
