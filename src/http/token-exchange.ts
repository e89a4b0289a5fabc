import type { Context } from "hono";
import { decodeJwt } from "jose";
import type { Client } from "../clients/client.ts";
import { UpstreamTokenInvalid } from "../errors.ts";
import { signInWithUpstream } from "../identities/sign-in-with-upstream.ts";
import { claimUpstreamNonce } from "../providers/native-nonce.ts";
import type { UpstreamProvider } from "../providers/provider.ts";
import { providersForIssuer } from "../providers/provider-store.ts";
import type { UpstreamProfile } from "../providers/upstream-profile.ts";
import { verifyUpstreamIdToken } from "../providers/verify-upstream-id-token.ts";
import { ApiError } from "./api-error.ts";
import type { AppEnv } from "./app-env.ts";
import { recordEvent } from "./record-event.ts";
import { type SignInBody, startSession } from "./start-session.ts";

/** RFC 8693 §3: the token type of an OpenID Connect ID token. */
export const ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token";
/** RFC 8693 §3: what the exchange issues. */
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

/** The parameters of RFC 8693 §2.1 the token endpoint reads. */
export type TokenExchangeParams = {
  subject_token?: string | undefined;
  subject_token_type?: string | undefined;
  nonce?: string | undefined;
  requested_token_type?: string | undefined;
  actor_token?: string | undefined;
  actor_token_type?: string | undefined;
  audience?: string | undefined;
  resource?: string | undefined;
};

/** The exchange's answer: the sign-in answer and RFC 8693 §2.2.1 `issued_token_type`. */
export type TokenExchangeResponse = SignInBody & { issued_token_type: typeof ACCESS_TOKEN_TYPE };

/**
 * `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693), the native leg of
 * social sign-in (docs/design/upstream.md#native-token-exchange): an app that signed in with a
 * platform SDK trades the provider's `id_token` and the raw nonce it generated for a Tessera
 * session of `client`.
 *
 * The token's `iss` (read unverified, only to pick the provider) names the candidates; the
 * first that verifies it (signature with its JWKS, `iss`, `aud`, `exp`, `nonce` = the raw
 * nonce or its SHA-256 hex) is the provider. Then the token's nonce is claimed once per
 * provider, the identity is resolved (created, linked, or `AccountExists`), and a session
 * starts, bound to the client and carrying `scope`. Every refusal of the token is
 * `invalid_grant` with one generic message; the reason goes to the log, never the token.
 */
export async function exchangeUpstreamToken(
  c: Context<AppEnv>,
  client: Client,
  params: TokenExchangeParams,
  options: { scope: string },
): Promise<TokenExchangeResponse> {
  const { db, clock, logger, config } = c.get("deps");
  for (const name of ["actor_token", "actor_token_type", "audience", "resource"] as const) {
    if (params[name] !== undefined) {
      throw new ApiError("invalid_request", `${name} is not supported`, {
        issues: [{ path: name, message: "Not supported" }],
      });
    }
  }
  if (
    params.requested_token_type !== undefined &&
    params.requested_token_type !== ACCESS_TOKEN_TYPE
  ) {
    throw new ApiError("invalid_request", `requested_token_type must be ${ACCESS_TOKEN_TYPE}`, {
      issues: [{ path: "requested_token_type", message: `Expected ${ACCESS_TOKEN_TYPE}` }],
    });
  }
  const missing = (["subject_token", "subject_token_type", "nonce"] as const).filter(
    (name) => !params[name],
  );
  if (missing.length > 0) {
    throw new ApiError("invalid_request", `${missing.join(", ")} required`, {
      issues: missing.map((path) => ({ path, message: "Required" })),
    });
  }
  const subjectToken = params.subject_token as string;
  const nonce = params.nonce as string;
  if (params.subject_token_type !== ID_TOKEN_TYPE) {
    throw new ApiError("invalid_request", `subject_token_type must be ${ID_TOKEN_TYPE}`, {
      issues: [{ path: "subject_token_type", message: `Expected ${ID_TOKEN_TYPE}` }],
    });
  }

  const refuse = (reason: string, extra: Record<string, unknown> = {}) => {
    logger.info("token_exchange_refused", {
      request_id: c.get("requestId"),
      client_id: client.clientId,
      reason,
      ...extra,
    });
    return new UpstreamTokenInvalid(reason);
  };

  let issuer: unknown;
  try {
    issuer = decodeJwt(subjectToken).iss;
  } catch {
    throw refuse("malformed_token");
  }
  if (typeof issuer !== "string" || issuer === "") throw refuse("missing_issuer");
  const candidates = await providersForIssuer(db, issuer);
  if (candidates.length === 0) throw refuse("unknown_issuer", { issuer: issuer.slice(0, 200) });

  const now = clock.now();
  let verified: {
    provider: UpstreamProvider;
    profile: UpstreamProfile & { acceptedUntil: number; nonce: string };
  } | null = null;
  const reasons: string[] = [];
  for (const provider of candidates) {
    try {
      const profile = await verifyUpstreamIdToken(provider, subjectToken, {
        nonce,
        nonceForm: "raw-or-sha256",
        now,
      });
      verified = { provider, profile };
      break;
    } catch (error) {
      if (!(error instanceof UpstreamTokenInvalid)) throw error;
      reasons.push(`${provider.name}: ${error.reason}`);
    }
  }
  if (!verified) throw refuse(reasons.join("; "), { issuer: issuer.slice(0, 200) });
  const { provider } = verified;
  const { acceptedUntil, nonce: tokenNonce, ...profile } = verified.profile;

  // The verified token's own nonce claim is what is spent: the raw value and its hash are two
  // parameters for the same token, so claiming the parameter would let it be replayed.
  if (
    !(await claimUpstreamNonce(db, {
      provider: provider.name,
      nonce: tokenNonce,
      expiresAt: acceptedUntil,
      now,
    }))
  ) {
    throw refuse("nonce_replayed", { provider: provider.name });
  }

  const { user, linked, created } = await signInWithUpstream(db, {
    provider,
    profile,
    now,
    requireVerifiedEmail: config.email.verification === "required",
  });
  const { sessionId, body } = await startSession(c, user, { client, scope: options.scope });
  if (created) await recordEvent(c, { type: "signup", userId: user.id, sessionId });
  if (linked) await recordEvent(c, { type: "identity_linked", userId: user.id, sessionId });
  await recordEvent(c, { type: "upstream_sign_in", userId: user.id, sessionId });
  logger.info("upstream_sign_in", {
    request_id: c.get("requestId"),
    user_id: user.id,
    provider: provider.name,
    client_id: client.clientId,
    via: "token_exchange",
    created,
    linked,
  });
  return { ...body, issued_token_type: ACCESS_TOKEN_TYPE };
}
