import { findClient } from "../clients/client-store.ts";
import type { AppDeps } from "../deps.ts";
import { ApiError } from "../errors.ts";
import { findSession } from "../sessions/find-session.ts";
import { isSessionLive, sessionEndsAt, sessionPolicy } from "../sessions/session-policy.ts";
import { accessTokenSettings, verifyAccessToken } from "./access-token.ts";
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

async function liveSession(deps: AppDeps, sessionId: string) {
  const session = await findSession(deps.db, sessionId);
  const policy = sessionPolicy(deps.config);
  return session && isSessionLive(policy, session, deps.clock.now())
    ? { session, endsAt: sessionEndsAt(policy, session) }
    : undefined;
}

/**
 * Introspects an access token or a refresh token (RFC 7662 §2.2). Active only when the token
 * verifies *and* its session is live now — this is how a resource server sees a logout or
 * revocation before the access token's `exp`. A refresh token is active only at the
 * session's current generation. Anything else, foreign tokens included, is `{active:false}`.
 */
export async function introspectToken(
  deps: AppDeps,
  token: string,
): Promise<IntrospectionResponse> {
  const { config, clock } = deps;
  // A refresh token is recognised by its MAC (a session id may well begin with "eyJ").
  const presented = await readRefreshToken(deps.refreshMacKey, token);
  if (presented) {
    const live = await liveSession(deps, presented.sessionId);
    if (!live || live.session.generation !== presented.generation) return INACTIVE;
    return {
      active: true,
      token_type: "refresh_token",
      client_id: live.session.clientId,
      sub: live.session.userId,
      sid: live.session.id,
      iat: Math.floor(live.session.rotatedAt / 1000),
      exp: Math.floor(live.endsAt / 1000),
      iss: config.issuer,
    };
  }
  let claims: Awaited<ReturnType<typeof verifyAccessToken>>;
  try {
    claims = await verifyAccessToken(deps.keys, accessTokenSettings(config), token, clock.now(), {
      audience: false,
      requireSession: false,
    });
  } catch (error) {
    if (error instanceof ApiError) return INACTIVE;
    throw error;
  }
  if (claims.sid) {
    const live = await liveSession(deps, claims.sid);
    if (!live) return INACTIVE;
  } else if (!(await findClient(deps.db, claims.client_id))) {
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
