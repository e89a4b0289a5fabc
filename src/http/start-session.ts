import type { Context } from "hono";
import { FIRST_PARTY_CLIENT_ID } from "../clients/client.ts";
import { createSession } from "../sessions/create-session.ts";
import { revokeSession } from "../sessions/revoke-sessions.ts";
import { sessionPolicy } from "../sessions/session-policy.ts";
import { issueTokens, type TokenResponse } from "../tokens/issue-tokens.ts";
import { findUserById, type User, type UserView, userView } from "../users/users.ts";
import { ApiError } from "./api-error.ts";
import type { AppEnv } from "./app-env.ts";
import { clientIp } from "./client-ip.ts";
import { inCookie } from "./refresh-cookie.ts";
import { tokenDeps } from "./token-deps.ts";

/** The sign-in answer: the token response and the user (refresh token in a cookie in cookie mode). */
export type SignInBody = Omit<TokenResponse, "refresh_token"> & {
  refresh_token?: string;
  user: UserView;
};

/**
 * Starts a first-party session for `user` and builds the token response with `user`; in
 * cookie mode the refresh token goes into the `__Host-` cookie instead of the JSON.
 *
 * `verifiedHash`: the password hash the sign-in was checked against. A password change that
 * landed while the sign-in was hashing revoked every session but its own, possibly before
 * this one existed; checked after the insert, so either the change's revocation saw this
 * session or this check sees the new hash, and the sign-in fails.
 */
export async function startSession(
  c: Context<AppEnv>,
  user: User,
  options: { cookie?: boolean; verifiedHash?: string } = {},
): Promise<{ sessionId: string; body: SignInBody }> {
  const { db, config, clock } = c.var.deps;
  const policy = sessionPolicy(config);
  const now = clock.now();
  const session = await createSession(db, policy, {
    userId: user.id,
    clientId: FIRST_PARTY_CLIENT_ID,
    userAgent: c.req.header("User-Agent"),
    ip: clientIp(c),
    now,
  });
  let current = user;
  if (options.verifiedHash !== undefined) {
    const latest = await findUserById(db, user.id);
    if (latest?.passwordHash !== options.verifiedHash) {
      await revokeSession(db, { sessionId: session.id, reason: "password_changed", now });
      throw invalidCredentials();
    }
    current = latest;
  }
  const tokens = {
    ...(await issueTokens(
      tokenDeps(c.var.deps),
      policy,
      { ...session, sessionId: session.id },
      now,
    )),
    user: userView(current),
  };
  return { sessionId: session.id, body: options.cookie ? inCookie(c, tokens) : tokens };
}

/** The one answer to a failed sign-in, whichever part was wrong. */
export const invalidCredentials = () => new ApiError("invalid_grant", "Invalid email or password");
