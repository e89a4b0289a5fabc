import type { RequestIdVariables } from "hono/request-id";
import type { AppDeps } from "./deps.ts";
import type { AccessTokenClaims } from "./tokens/access-token.ts";

/** Hono environment shared by every router of the app. */
export type AppEnv = {
  Variables: RequestIdVariables & {
    deps: AppDeps;
    /** Verified claims of a user's access token (with `sid`), set by `requireAccessToken`. */
    auth: AccessTokenClaims & { sid: string };
  };
};
