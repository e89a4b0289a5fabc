import type { Database } from "../db/types.ts";
import { InvalidRefreshToken } from "../errors.ts";
import type { Logger } from "../lib/logger.ts";
import { findSession } from "../sessions/find-session.ts";
import { revokeSession } from "../sessions/revoke-sessions.ts";
import {
  isSessionLive,
  type SessionPolicy,
  type SessionState,
} from "../sessions/session-policy.ts";
import { mintRefreshToken, readRefreshToken } from "./refresh-token.ts";
import { commitRotation, type GroupCommit } from "./rotation-commits.ts";

/** The session a refresh token now belongs to, and the refresh token to hand back. */
export type RotatedSession = SessionState & {
  refreshToken: string;
};

/**
 * Rotates a refresh token (docs/design/tokens.md#rotation, steps 1–4):
 * 1. MAC check in constant time; forged tokens never reach the database.
 * 2. One conditional `UPDATE … RETURNING` advances `generation` from g to g+1 (committed
 *    together with the other rotations of the moment under `groupCommit`).
 * 3. If no row came back: a concurrent refresher that is the direct parent of the live
 *    generation, within the reuse grace, converges on the same `(sid, g+1)` token.
 * 4. Anything else presenting an old generation is replay: the session is revoked.
 * @throws {@link InvalidRefreshToken} for every refusal.
 */
export async function rotateRefreshToken(
  deps: {
    db: Database;
    policy: SessionPolicy;
    macKey: Uint8Array;
    logger: Logger;
    /** Told about a detected replay after the session was revoked (e.g. to record an event). */
    onReuse?: (reused: { sessionId: string; userId: string }) => Promise<void>;
    /** Commit concurrent rotations together (Node); unset, each commits on its own. */
    groupCommit?: GroupCommit | undefined;
  },
  input: { refreshToken: string; clientId: string; now: number },
): Promise<RotatedSession> {
  const { db, policy, macKey } = deps;
  const { now } = input;
  const presented = await readRefreshToken(macKey, input.refreshToken);
  if (!presented) throw new InvalidRefreshToken();
  const { sessionId, generation } = presented;

  const rotated = await commitRotation(
    db,
    {
      id: sessionId,
      generation,
      next: generation + 1,
      now,
      idleSince: now - policy.idleTtlMs,
      clientId: input.clientId,
    },
    deps.groupCommit,
  );
  if (rotated) {
    const next = { sessionId, generation: generation + 1 };
    return {
      ...rotated,
      ...next,
      lastUsedAt: now,
      refreshToken: await mintRefreshToken(macKey, next),
    };
  }

  const session = await findSession(db, sessionId);
  if (!session || !isSessionLive(policy, session, now)) throw new InvalidRefreshToken();
  // Bound to its client: another client's token is refused, but it is not replay.
  if (input.clientId !== session.clientId) {
    throw new InvalidRefreshToken();
  }
  if (
    session.generation === generation + 1 &&
    policy.reuseGraceMs > 0 &&
    now - session.rotatedAt <= policy.reuseGraceMs
  ) {
    const next = { sessionId, generation: session.generation };
    return {
      sessionId,
      userId: session.userId,
      clientId: session.clientId,
      generation: session.generation,
      lastUsedAt: session.lastUsedAt,
      expiresAt: session.expiresAt,
      scope: session.scope,
      refreshToken: await mintRefreshToken(macKey, next),
    };
  }
  if (session.generation > generation) {
    // Replay of a superseded token: whoever holds the family may be an attacker, so the
    // whole session ends (RFC 9700 §4.14.2).
    await revokeSession(db, { sessionId, reason: "refresh_token_reuse", now });
    deps.logger.warn("refresh_token_reuse", {
      session_id: sessionId,
      user_id: session.userId,
      presented_generation: generation,
      live_generation: session.generation,
    });
    await deps.onReuse?.({ sessionId, userId: session.userId });
  }
  throw new InvalidRefreshToken();
}
