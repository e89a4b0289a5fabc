import type { RequestIdVariables } from "hono/request-id";
import type { AppDeps } from "../deps.ts";
import type { AccessTokenClaims } from "../tokens/access-token.ts";
import type { VerifiedTokenCache } from "../tokens/verified-token-cache.ts";

/**
 * Hono environment shared by every router of the app. Read the variables with `c.get(name)`:
 * Hono's `c.var` builds a new object of all of them on every access.
 */
export type AppEnv = {
  Variables: RequestIdVariables & {
    deps: AppDeps;
    /** This app's cache of verified access tokens (see `requireAccessToken`). */
    verifiedTokens: VerifiedTokenCache;
    /** Verified claims of a user's access token (with `sid`), set by `requireAccessToken`. */
    auth: AccessTokenClaims & { sid: string };
  };
};
