import type { Config } from "../config.ts";

/** Session lifetimes in milliseconds, read once from the configuration. */
export type SessionPolicy = {
  idleTtlMs: number;
  maxAgeMs: number;
  reuseGraceMs: number;
};

/** What a token response needs to know about a session. */
export type SessionState = {
  sessionId: string;
  userId: string;
  clientId: string;
  /** The live refresh-token generation. */
  generation: number;
  lastUsedAt: number;
  expiresAt: number;
  /** Scopes granted (code flow); they go into every access token of the session. */
  scope?: string | null;
};

/** The policy a {@link Config} describes. */
export function sessionPolicy(config: Config): SessionPolicy {
  return {
    idleTtlMs: config.refreshIdleTtl * 1000,
    maxAgeMs: config.sessionMaxAge * 1000,
    reuseGraceMs: config.refreshReuseGrace * 1000,
  };
}

/** When a session ends if nobody uses it: the earlier of idle expiry and its absolute end. */
export function sessionEndsAt(
  policy: SessionPolicy,
  session: { lastUsedAt: number; expiresAt: number },
): number {
  return Math.min(session.lastUsedAt + policy.idleTtlMs, session.expiresAt);
}

/** True while the session is neither revoked nor past its idle or absolute end. */
export function isSessionLive(
  policy: SessionPolicy,
  session: { lastUsedAt: number; expiresAt: number; revokedAt: number | null },
  now: number,
): boolean {
  return session.revokedAt === null && now < sessionEndsAt(policy, session);
}
