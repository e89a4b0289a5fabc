import type { AppDeps } from "../deps.ts";
import {
  type SessionPolicy,
  type SessionState,
  sessionEndsAt,
} from "../sessions/session-policy.ts";
import type { UserView } from "../users/users.ts";
import { accessTokenSettings, signAccessToken } from "./access-token.ts";
import { mintRefreshToken } from "./refresh-token.ts";

/** RFC 6749 §5.1 token response, with Tessera's `refresh_token_expires_in` and `user`. */
export type TokenResponse = {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token: string;
  refresh_token_expires_in: number;
  user?: UserView;
};

/**
 * Builds the token response for a session: a fresh access token plus the given refresh
 * token (or one minted for `generation`).
 */
export async function issueTokens(
  deps: Pick<AppDeps, "keys" | "config" | "refreshMacKey">,
  policy: SessionPolicy,
  session: SessionState & { refreshToken?: string },
  now: number,
  user?: UserView,
  client?: { accessTokenTtl: number | null },
): Promise<TokenResponse> {
  const [access, refreshToken] = await Promise.all([
    signAccessToken(
      deps.keys,
      accessTokenSettings(deps.config, client),
      { sub: session.userId, sid: session.sessionId, clientId: session.clientId },
      now,
    ),
    session.refreshToken ??
      mintRefreshToken(deps.refreshMacKey, {
        sessionId: session.sessionId,
        generation: session.generation,
      }),
  ]);
  const response: TokenResponse = {
    access_token: access.token,
    token_type: "Bearer",
    expires_in: access.expiresIn,
    refresh_token: refreshToken,
    refresh_token_expires_in: Math.max(
      0,
      Math.floor((sessionEndsAt(policy, session) - now) / 1000),
    ),
  };
  if (user) response.user = user;
  return response;
}
