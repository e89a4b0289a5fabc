import type { Context } from "hono";
import type { Client } from "../clients/client.ts";
import type { SigningAlg } from "../config.ts";
import { randomId } from "../lib/random-id.ts";
import { redeemAuthorizationCode } from "../oauth/authorization-codes.ts";
import { signIdToken } from "../oauth/id-token.ts";
import { verifyPkce } from "../oauth/pkce.ts";
import { revokeSession } from "../sessions/revoke-sessions.ts";
import { findUserById } from "../users/users.ts";
import { ApiError } from "./api-error.ts";
import type { AppEnv } from "./app-env.ts";
import { type ClientTokens, startClientSession } from "./start-session.ts";

/** The token response of the code grant: the tokens, their scope and, with `openid`, an ID token. */
export type CodeGrantResponse = ClientTokens & {
  scope: string;
  id_token?: string;
};

const invalidGrant = (description: string) => new ApiError("invalid_grant", description);

/**
 * `grant_type=authorization_code` (RFC 6749 §4.1.3, OAuth 2.1 §4.1.3, RFC 7636 §4.6): the code
 * is used once, atomically, within 60 s; it must have been issued to this client, for this
 * `redirect_uri`, and `code_verifier` must hash to its PKCE challenge. A replayed code revokes
 * the session its first exchange started (OAuth 2.1 §4.1.3). The exchange starts a session
 * bound to the client (its `refresh_token_ttl` caps the lifetime) carrying the granted scope;
 * a refresh token comes with it when the client may use the refresh grant; an ID token when
 * `openid` was granted (OIDC Core §3.1.3.3).
 */
export async function exchangeAuthorizationCode(
  c: Context<AppEnv>,
  client: Client,
  params: { code?: string; redirect_uri?: string; code_verifier?: string },
): Promise<CodeGrantResponse> {
  const deps = c.get("deps");
  const { db, clock, config } = deps;
  if (!params.code) throw required("code");
  if (!params.code_verifier) throw required("code_verifier");
  const now = clock.now();
  const sessionId = randomId();
  const redeemed = await redeemAuthorizationCode(db, { code: params.code, sessionId, now });
  if (!redeemed) throw invalidGrant("The authorization code is invalid or expired");
  if ("replayed" in redeemed) {
    if (redeemed.replayed.sessionId) {
      await revokeSession(db, {
        sessionId: redeemed.replayed.sessionId,
        reason: "authorization_code_reuse",
        now,
      });
    }
    deps.logger.warn("authorization_code_reuse", {
      request_id: c.get("requestId"),
      client_id: client.clientId,
    });
    throw invalidGrant("The authorization code was already used");
  }
  const { grant } = redeemed;
  if (grant.clientId !== client.clientId) {
    throw invalidGrant("The authorization code was issued to another client");
  }
  // RFC 6749 §4.1.3: required when the authorization request had it. Tessera fills in a
  // client's only registered URI when the request left it out; then it may be left out here.
  const redirectUri =
    params.redirect_uri ?? (client.redirectUris.length === 1 ? client.redirectUris[0] : undefined);
  if (redirectUri === undefined) throw required("redirect_uri");
  if (grant.redirectUri !== redirectUri) {
    throw invalidGrant("redirect_uri does not match the authorization request");
  }
  if (!verifyPkce(params.code_verifier, grant.codeChallenge)) {
    throw invalidGrant("code_verifier does not match the code_challenge");
  }
  const user = await findUserById(db, grant.userId);
  if (!user) throw invalidGrant("The user no longer exists");

  const { tokens } = await startClientSession(c, {
    userId: user.id,
    client,
    id: sessionId,
    scope: grant.scope,
    authTime: grant.authTime,
  });
  const scopes = grant.scope.split(" ").filter(Boolean);
  const response: CodeGrantResponse = { ...tokens, scope: grant.scope };
  if (scopes.includes("openid")) {
    response.id_token = await signIdToken(deps.keys, {
      issuer: config.issuer,
      clientId: client.clientId,
      sub: user.id,
      alg: client.idTokenSignedResponseAlg as SigningAlg,
      now,
      authTime: grant.authTime,
      nonce: grant.nonce,
      sid: grant.browserSessionId,
      amr: ["pwd"],
      ...(scopes.includes("email")
        ? { email: { address: user.email, verified: user.emailVerifiedAt !== null } }
        : {}),
    });
  }
  return response;
}

const required = (name: string) =>
  new ApiError("invalid_request", `${name} is required`, {
    issues: [{ path: name, message: "Required" }],
  });
