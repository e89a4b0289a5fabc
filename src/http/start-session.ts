import type { Context } from "hono";
import { type Client, FIRST_PARTY_CLIENT } from "../clients/client.ts";
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

/** A client session's token response: no refresh token when the client may not refresh. */
export type ClientTokens = Omit<TokenResponse, "refresh_token" | "refresh_token_expires_in"> & {
  refresh_token?: string;
  refresh_token_expires_in?: number;
};

/** The sign-in answer: the token response and the user (refresh token in a cookie in cookie mode). */
export type SignInBody = ClientTokens & { user: UserView };

/**
 * Starts a session of `userId` bound to `client` and builds its token response: the one way
 * a session is started for a client (the code grant, the native token exchange, and through
 * {@link startSession} every first-party sign-in). The client's `refresh_token_ttl` caps the
 * session's lifetime, its `access_token_ttl` the access token's; without the refresh grant
 * the response has no refresh token. The code flow passes its own session `id` (recorded on
 * the code first), the granted `scope` and the sign-in's `authTime`.
 */
export async function startClientSession(
  c: Context<AppEnv>,
  input: {
    userId: string;
    client: Client;
    id?: string;
    scope?: string | null;
    authTime?: number | null;
  },
): Promise<{ sessionId: string; tokens: ClientTokens }> {
  const deps = c.get("deps");
  const { client } = input;
  const policy = sessionPolicy(deps.config);
  const now = deps.clock.now();
  const session = await createSession(deps.db, policy, {
    userId: input.userId,
    clientId: client.clientId,
    userAgent: c.req.header("User-Agent"),
    ip: clientIp(c),
    now,
    ...(input.id !== undefined ? { id: input.id } : {}),
    ...(input.scope !== undefined ? { scope: input.scope } : {}),
    ...(input.authTime !== undefined ? { authTime: input.authTime } : {}),
    ...(client.refreshTokenTtl ? { maxAgeMs: client.refreshTokenTtl * 1000 } : {}),
  });
  const tokens: ClientTokens = await issueTokens(
    tokenDeps(deps, client),
    policy,
    { ...session, sessionId: session.id },
    now,
  );
  if (!client.grantTypes.includes("refresh_token")) {
    delete tokens.refresh_token;
    delete tokens.refresh_token_expires_in;
  }
  return { sessionId: session.id, tokens };
}

/**
 * Starts a session for `user` and builds the token response with `user`; in cookie mode the
 * refresh token goes into the `__Host-` cookie instead of the JSON. The session belongs to the
 * built-in first-party client unless `client` names another (the native token exchange of a
 * registered client, whose granted `scope` the session carries).
 *
 * `verifiedHash`: the password hash the sign-in was checked against. A password change that
 * landed while the sign-in was hashing revoked every session but its own, possibly before
 * this one existed; checked after the insert, so either the change's revocation saw this
 * session or this check sees the new hash, and the sign-in fails.
 */
export async function startSession(
  c: Context<AppEnv>,
  user: User,
  options: { cookie?: boolean; verifiedHash?: string; client?: Client; scope?: string } = {},
): Promise<{ sessionId: string; body: SignInBody }> {
  const { db, clock } = c.get("deps");
  const { sessionId, tokens } = await startClientSession(c, {
    userId: user.id,
    client: options.client ?? FIRST_PARTY_CLIENT,
    ...(options.scope ? { scope: options.scope } : {}),
  });
  let current = user;
  if (options.verifiedHash !== undefined) {
    const latest = await findUserById(db, user.id);
    if (latest?.passwordHash !== options.verifiedHash) {
      await revokeSession(db, { sessionId, reason: "password_changed", now: clock.now() });
      throw invalidCredentials();
    }
    current = latest;
  }
  const body: SignInBody = { ...tokens, user: userView(current) };
  return { sessionId, body: options.cookie ? inCookie(c, body) : body };
}

/** The one answer to a failed sign-in, whichever part was wrong. */
export const invalidCredentials = () => new ApiError("invalid_grant", "Invalid email or password");
