import { eq, lte } from "drizzle-orm";
import { decodeJwt } from "jose";
import * as oauth from "oauth4webapi";
import { upstreamAuthorizations } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { UpstreamSignInFailed, UpstreamTokenInvalid } from "../errors.ts";
import { appleClientSecret } from "./apple-client-secret.ts";
import {
  authorizationServer,
  idTokenIssuerServer,
  requestOptions,
  responseIssuerServer,
} from "./authorization-server.ts";
import { isAllowedEndpoint, type UpstreamProvider } from "./provider.ts";
import { providerSecret } from "./provider-store.ts";
import { normalizeUpstreamEmail, type UpstreamProfile } from "./upstream-profile.ts";
import { UPSTREAM_CLOCK_TOLERANCE_S, verifyUpstreamIdToken } from "./verify-upstream-id-token.ts";

/** How long a browser leg at a provider may take. */
export const UPSTREAM_AUTHORIZATION_TTL_MS = 10 * 60_000;

/** GitHub refuses API requests without a User-Agent. */
const USER_AGENT = "Tessera";

async function metadata(provider: UpstreamProvider, now: number) {
  try {
    return await authorizationServer(provider, now);
  } catch {
    throw new UpstreamSignInFailed("provider_metadata_unavailable");
  }
}

/**
 * Starts the browser leg (docs/design/upstream.md#the-browser-leg): stores a random `state`,
 * a PKCE verifier and (OIDC kinds) a `nonce` for 10 minutes with the pending request, and
 * returns the provider's authorization URL. Throws {@link UpstreamSignInFailed} if the provider
 * has no browser leg or its metadata cannot be read.
 */
export async function startUpstreamAuthorization(
  db: Database,
  provider: UpstreamProvider,
  input: { requestId: string; callbackUrl: string; now: number },
): Promise<{ url: URL; state: string }> {
  if (!provider.browserLeg) throw new UpstreamSignInFailed("no_browser_leg");
  const as = await metadata(provider, input.now);
  if (!as.authorization_endpoint) throw new UpstreamSignInFailed("no_authorization_endpoint");
  const state = oauth.generateRandomState();
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const nonce = provider.kind === "github" ? null : oauth.generateRandomNonce();
  await db.insert(upstreamAuthorizations).values({
    state,
    provider: provider.name,
    requestId: input.requestId,
    codeVerifier,
    nonce,
    createdAt: input.now,
    expiresAt: input.now + UPSTREAM_AUTHORIZATION_TTL_MS,
  });
  const url = new URL(as.authorization_endpoint);
  const params = url.searchParams;
  params.set("client_id", provider.clientIds[0] as string);
  params.set("redirect_uri", input.callbackUrl);
  params.set("response_type", "code");
  params.set("scope", provider.scopes.join(" "));
  params.set("state", state);
  params.set("code_challenge", await oauth.calculatePKCECodeChallenge(codeVerifier));
  params.set("code_challenge_method", "S256");
  if (nonce !== null) params.set("nonce", nonce);
  // Apple posts the response back when names or emails are asked for.
  if (provider.kind === "apple") params.set("response_mode", "form_post");
  return { url, state };
}

/** Takes the stored leg for `state` (single use); undefined if unknown. */
async function takeAuthorization(db: Database, state: string) {
  const [row] = await db
    .delete(upstreamAuthorizations)
    .where(eq(upstreamAuthorizations.state, state))
    .returning();
  return row;
}

/** A short code for the log of why the provider's answer was refused. */
function protocolReason(step: string, error: unknown): string {
  if (error instanceof oauth.ResponseBodyError) return `${step}:${error.error}`;
  if (error instanceof oauth.AuthorizationResponseError) return `${step}:${error.error}`;
  if (error instanceof oauth.WWWAuthenticateChallengeError) return `${step}:challenge`;
  if (error instanceof oauth.OperationProcessingError) return `${step}:${error.code}`;
  if (error instanceof UpstreamTokenInvalid) return `${step}:${error.reason}`;
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return `${step}:timeout`;
  }
  return `${step}:failed`;
}

/** Apple's `user` form field (first authorization only): `{"name":{"firstName","lastName"}}`. */
function appleName(user: string | null): string | null {
  if (!user) return null;
  try {
    const parsed = JSON.parse(user) as { name?: { firstName?: unknown; lastName?: unknown } };
    const parts = [parsed.name?.firstName, parsed.name?.lastName].filter(
      (p): p is string => typeof p === "string" && p.trim() !== "",
    );
    return parts.length > 0 ? parts.map((p) => p.trim()).join(" ") : null;
  } catch {
    return null;
  }
}

/** GitHub has no ID token: the access token reads `/user` and `/user/emails`. */
async function gitHubProfile(provider: UpstreamProvider, accessToken: string) {
  const api = provider.apiUrl ?? "https://api.github.com";
  const get = async (path: string) => {
    const url = new URL(`${api}${path}`);
    if (!isAllowedEndpoint(url, provider.issuer))
      throw new UpstreamSignInFailed("github_api_not_https");
    const response = await fetch(url, {
      headers: {
        Authorization: `Bearer ${accessToken}`,
        Accept: "application/vnd.github+json",
        "User-Agent": USER_AGENT,
        "X-GitHub-Api-Version": "2022-11-28",
      },
      redirect: "manual",
      signal: requestOptions(url).signal,
    });
    return response;
  };
  const userResponse = await get("/user");
  if (!userResponse.ok) throw new UpstreamSignInFailed(`github_user:${userResponse.status}`);
  const user = (await userResponse.json()) as { id?: unknown; name?: unknown; login?: unknown };
  if (typeof user.id !== "number" && typeof user.id !== "string") {
    throw new UpstreamSignInFailed("github_user:no_id");
  }
  let email: string | null = null;
  let emailVerified = false;
  // Without the user:email scope the list is refused: then no address is known.
  const emailsResponse = await get("/user/emails");
  if (emailsResponse.ok) {
    const emails = (await emailsResponse.json()) as Array<{
      email?: unknown;
      primary?: unknown;
      verified?: unknown;
    }>;
    const primary = Array.isArray(emails) ? emails.find((e) => e?.primary === true) : undefined;
    email = normalizeUpstreamEmail(primary?.email);
    emailVerified = email !== null && primary?.verified === true;
  } else {
    await emailsResponse.body?.cancel();
  }
  const name =
    typeof user.name === "string" && user.name.trim() !== ""
      ? user.name.trim()
      : typeof user.login === "string"
        ? user.login
        : null;
  return { subject: String(user.id), email, emailVerified, name };
}

/**
 * Finishes the browser leg: takes the stored leg for `state` (single use; it must be this
 * provider's and unexpired), checks the authorization response (`state`, RFC 9207 `iss`,
 * `error`), exchanges the code with the PKCE verifier and the client's credentials, and
 * reads who signed in: the ID token verified by {@link verifyUpstreamIdToken} with the
 * stored nonce, or GitHub's user and emails API. Throws {@link UpstreamSignInFailed} with
 * the reason for the log; a person who cancelled at the provider gets reason
 * `provider_error:<error>`.
 */
export async function finishUpstreamAuthorization(
  db: Database,
  input: {
    provider: UpstreamProvider;
    state: string;
    params: URLSearchParams;
    callbackUrl: string;
    secretKey: Uint8Array;
    now: number;
  },
): Promise<{ requestId: string; profile: UpstreamProfile }> {
  const row = await takeAuthorization(db, input.state);
  // No requestId on these: there is no live leg to go back to.
  if (!row) throw new UpstreamSignInFailed("unknown_state");
  if (row.expiresAt <= input.now) throw new UpstreamSignInFailed("expired_state");
  if (row.provider !== input.provider.name) throw new UpstreamSignInFailed("provider_mismatch");
  try {
    return { requestId: row.requestId, profile: await finishLeg(db, row, input) };
  } catch (error) {
    if (!(error instanceof UpstreamSignInFailed)) throw error;
    throw new UpstreamSignInFailed(error.reason, error.message, {
      requestId: row.requestId,
      ...(error.providerError ? { providerError: error.providerError } : {}),
    });
  }
}

async function finishLeg(
  db: Database,
  row: typeof upstreamAuthorizations.$inferSelect,
  input: Parameters<typeof finishUpstreamAuthorization>[1],
): Promise<UpstreamProfile> {
  const { provider, now } = input;
  const as = await metadata(provider, now);
  const client: oauth.Client = {
    client_id: provider.clientIds[0] as string,
    [oauth.clockTolerance]: UPSTREAM_CLOCK_TOLERANCE_S,
    // oauth4webapi's checks use the caller's clock, like the ID token's.
    [oauth.clockSkew]: Math.round((now - Date.now()) / 1000),
  };
  // Apple's form post carries the name in `user`; the response check wants only its own fields.
  const responseParams = new URLSearchParams(input.params);
  responseParams.delete("user");
  let callbackParams: URLSearchParams;
  try {
    callbackParams = oauth.validateAuthResponse(
      responseIssuerServer(provider, as, responseParams.get("iss")),
      client,
      responseParams,
      row.state,
    );
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) {
      const description = error.error_description;
      throw new UpstreamSignInFailed(
        `provider_error:${error.error}`,
        "Signing in with the provider was cancelled or refused",
        {
          providerError: {
            error: error.error,
            ...(description ? { description } : {}),
          },
        },
      );
    }
    throw new UpstreamSignInFailed(protocolReason("authorization_response", error));
  }
  const secret = await providerSecret(db, provider.name, input.secretKey).catch(() => undefined);
  if (secret === undefined) throw new UpstreamSignInFailed("no_client_secret");
  let auth: oauth.ClientAuth;
  if (provider.kind === "apple") {
    auth = oauth.ClientSecretPost(
      await appleClientSecret(provider, { privateKeyPem: secret, now }),
    );
  } else if (as.token_endpoint_auth_methods_supported?.includes("client_secret_basic")) {
    auth = oauth.ClientSecretBasic(secret);
  } else {
    auth = oauth.ClientSecretPost(secret);
  }
  if (!as.token_endpoint) throw new UpstreamSignInFailed("no_token_endpoint");
  let tokens: oauth.TokenEndpointResponse;
  try {
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      auth,
      callbackParams,
      input.callbackUrl,
      row.codeVerifier,
      { ...requestOptions(as.token_endpoint), headers: { Accept: "application/json" } },
    );
    const body = response.ok
      ? ((await response
          .clone()
          .json()
          .catch(() => undefined)) as { error?: unknown; id_token?: unknown } | undefined)
      : undefined;
    // GitHub answers a refused code with 200 and `{"error": …}`.
    if (typeof body?.error === "string") throw new UpstreamSignInFailed(`token:${body.error}`);
    let claims: { iss?: unknown; tid?: unknown } | undefined;
    try {
      if (typeof body?.id_token === "string") claims = decodeJwt(body.id_token);
    } catch {
      // Malformed: oauth4webapi refuses it below.
    }
    tokens = await oauth.processAuthorizationCodeResponse(
      idTokenIssuerServer(provider, as, claims),
      client,
      response,
      {
        expectedNonce: row.nonce ?? oauth.expectNoNonce,
        requireIdToken: provider.kind !== "github",
      },
    );
  } catch (error) {
    if (error instanceof UpstreamSignInFailed) throw error;
    throw new UpstreamSignInFailed(protocolReason("token", error));
  }
  if (provider.kind === "github") {
    try {
      return await gitHubProfile(provider, tokens.access_token);
    } catch (error) {
      if (error instanceof UpstreamSignInFailed) throw error;
      throw new UpstreamSignInFailed(protocolReason("github_api", error));
    }
  }
  let profile: UpstreamProfile;
  try {
    const verified = await verifyUpstreamIdToken(provider, tokens.id_token as string, {
      nonce: row.nonce as string,
      nonceForm: "exact",
      now,
    });
    profile = {
      subject: verified.subject,
      email: verified.email,
      emailVerified: verified.emailVerified,
      name: verified.name,
    };
  } catch (error) {
    throw new UpstreamSignInFailed(protocolReason("id_token", error));
  }
  if (provider.kind === "apple" && profile.name === null) {
    profile = { ...profile, name: appleName(input.params.get("user")) };
  }
  return profile;
}

/** Deletes browser legs nobody finished (scheduled maintenance). */
export async function pruneUpstreamAuthorizations(db: Database, now: number): Promise<number> {
  const rows = await db
    .delete(upstreamAuthorizations)
    .where(lte(upstreamAuthorizations.expiresAt, now))
    .returning({ state: upstreamAuthorizations.state });
  return rows.length;
}
