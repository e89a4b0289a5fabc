import type { KeyStore } from "../keys/key-store.ts";
import {
  type SessionPolicy,
  type SessionState,
  sessionEndsAt,
} from "../sessions/session-policy.ts";
import { type AccessTokenSettings, signAccessToken } from "./access-token.ts";
import { mintRefreshToken } from "./refresh-token.ts";

/** RFC 6749 §5.1 token response, with Tessera's `refresh_token_expires_in`. */
export type TokenResponse = {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token: string;
  refresh_token_expires_in: number;
  /** RFC 6749 §5.1: the granted scope, when the session has one. */
  scope?: string;
};

/**
 * Builds the token response for a session: a fresh access token plus the given refresh
 * token (or one minted for the session's `generation`). `refresh_token_expires_in` counts to
 * the earlier of the idle and absolute ends (docs/design/tokens.md#lifetimes).
 */
export async function issueTokens(
  deps: { keys: KeyStore; settings: AccessTokenSettings; macKey: Uint8Array },
  policy: SessionPolicy,
  session: SessionState & { refreshToken?: string },
  now: number,
): Promise<TokenResponse> {
  const [access, refreshToken] = await Promise.all([
    signAccessToken(
      deps.keys,
      deps.settings,
      {
        sub: session.userId,
        sid: session.sessionId,
        clientId: session.clientId,
        ...(session.scope ? { scope: session.scope } : {}),
      },
      now,
    ),
    session.refreshToken ??
      mintRefreshToken(deps.macKey, {
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
  if (session.scope) response.scope = session.scope;
  return response;
}
