import type { Database } from "../db/types.ts";
import { InvalidAccessToken } from "../errors.ts";
import type { KeyStore } from "../keys/key-store.ts";
import { findSession } from "../sessions/find-session.ts";
import { revokeSession } from "../sessions/revoke-sessions.ts";
import { type AccessTokenSettings, verifyAccessToken } from "./access-token.ts";
import { readRefreshToken } from "./refresh-token.ts";

/**
 * Revokes what a token stands for (RFC 7009 §2.1): a refresh token ends its session; so does
 * an access token (its `sid`), since revoking only a stateless JWT would change nothing.
 * Only the client the token was issued to can revoke it. Returns the revoked session;
 * unknown, foreign, expired or already revoked tokens revoke nothing (the caller still
 * answers 200, §2.2).
 */
export async function revokeToken(
  deps: {
    db: Database;
    keys: Pick<KeyStore, "verificationKey">;
    settings: AccessTokenSettings;
    macKey: Uint8Array;
  },
  input: { token: string; clientId: string; now: number },
): Promise<{ sessionId: string; userId: string } | undefined> {
  const { now } = input;
  let sessionId: string | undefined;
  const refresh = await readRefreshToken(deps.macKey, input.token);
  if (refresh) {
    sessionId = refresh.sessionId;
  } else {
    try {
      const claims = await verifyAccessToken(deps.keys, deps.settings, input.token, now, {
        audience: false,
        requireSession: false,
      });
      if (claims.client_id !== input.clientId) return undefined;
      sessionId = claims.sid;
    } catch (error) {
      if (error instanceof InvalidAccessToken) return undefined;
      throw error;
    }
  }
  if (!sessionId) return undefined;
  const session = await findSession(deps.db, sessionId);
  if (!session || session.clientId !== input.clientId) return undefined;
  const revoked = await revokeSession(deps.db, { sessionId, reason: "token_revoked", now });
  return revoked ? { sessionId, userId: session.userId } : undefined;
}
