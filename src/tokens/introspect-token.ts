import type { Database } from "../db/types.ts";
import { InvalidAccessToken } from "../errors.ts";
import type { KeyStore } from "../keys/key-store.ts";
import { findSession } from "../sessions/find-session.ts";
import { isSessionLive, type SessionPolicy, sessionEndsAt } from "../sessions/session-policy.ts";
import {
  type AccessTokenClaims,
  type AccessTokenSettings,
  verifyAccessToken,
} from "./access-token.ts";
import { readRefreshToken } from "./refresh-token.ts";

/** RFC 7662 §2.2 introspection response. */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      token_type: "Bearer" | "refresh_token";
      client_id: string;
      sub: string;
      exp: number;
      iat?: number;
      iss: string;
      aud?: string | string[];
      jti?: string;
      sid?: string;
      scope?: string;
    };

const INACTIVE = { active: false } as const;

/** What introspection reads: sessions, published keys, and whether a client still exists. */
export type IntrospectionDeps = {
  db: Database;
  keys: Pick<KeyStore, "verificationKey">;
  settings: AccessTokenSettings;
  macKey: Uint8Array;
  policy: SessionPolicy;
  /** Whether a registered client exists (client-credentials tokens live only as long). */
  clientExists: (clientId: string) => Promise<boolean>;
};

async function liveSession(deps: IntrospectionDeps, sessionId: string, now: number) {
  const session = await findSession(deps.db, sessionId);
  return session && isSessionLive(deps.policy, session, now)
    ? { session, endsAt: sessionEndsAt(deps.policy, session) }
    : undefined;
}

/**
 * Introspects an access token or a refresh token (RFC 7662 §2.2). Active only when the token
 * verifies *and* its session is live now — this is how a resource server sees a logout or
 * revocation before the access token's `exp`. A refresh token is active only at the
 * session's current generation. Anything else, foreign tokens included, is `{active:false}`.
 */
export async function introspectToken(
  deps: IntrospectionDeps,
  token: string,
  now: number,
): Promise<IntrospectionResponse> {
  // A refresh token is recognised by its MAC (a session id may well begin with "eyJ").
  const presented = await readRefreshToken(deps.macKey, token);
  if (presented) {
    const live = await liveSession(deps, presented.sessionId, now);
    if (!live || live.session.generation !== presented.generation) return INACTIVE;
    return {
      active: true,
      token_type: "refresh_token",
      client_id: live.session.clientId,
      sub: live.session.userId,
      sid: live.session.id,
      iat: Math.floor(live.session.rotatedAt / 1000),
      exp: Math.floor(live.endsAt / 1000),
      iss: deps.settings.issuer,
    };
  }
  let claims: AccessTokenClaims;
  try {
    claims = await verifyAccessToken(deps.keys, deps.settings, token, now, {
      audience: false,
      requireSession: false,
    });
  } catch (error) {
    if (error instanceof InvalidAccessToken) return INACTIVE;
    throw error;
  }
  if (claims.sid) {
    const live = await liveSession(deps, claims.sid, now);
    if (!live) return INACTIVE;
  } else if (!(await deps.clientExists(claims.client_id))) {
    // A client-credentials token outlives nothing but its client.
    return INACTIVE;
  }
  const response: IntrospectionResponse = {
    active: true,
    token_type: "Bearer",
    client_id: claims.client_id,
    sub: claims.sub,
    exp: claims.exp,
    iat: claims.iat,
    iss: claims.iss,
    aud: claims.aud,
    jti: claims.jti,
  };
  if (claims.sid) response.sid = claims.sid;
  if (claims.scope) response.scope = claims.scope;
  return response;
}
