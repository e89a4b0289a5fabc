import type { Client } from "../clients/client.ts";
import { parseScopes } from "../clients/client.ts";
import { isS256Challenge } from "./pkce.ts";
import { redirectUriMatches } from "./redirect-uri.ts";
import { allowedScopes } from "./scopes.ts";

/** `prompt` values Tessera honours (OIDC Core §3.1.2.1). */
export type Prompt = "none" | "login" | "consent";

/** A validated authorization request (RFC 6749 §4.1.1 with PKCE and OIDC parameters). */
export type AuthorizationRequest = {
  clientId: string;
  redirectUri: string;
  scope: string[];
  state?: string;
  nonce?: string;
  /** PKCE S256 challenge (required for every client). */
  codeChallenge: string;
  prompt: Prompt[];
  /** Seconds; a sign-in older than this is not reused (OIDC Core §3.1.2.1). */
  maxAge?: number;
  loginHint?: string;
};

/** Why a request fails, and how it must be answered (RFC 6749 §4.1.2.1). */
export type AuthorizationRequestError =
  /** No trustworthy redirect URI: an error page, never a redirect. */
  | { kind: "page"; description: string }
  /** The client and redirect URI are good: the error goes back to the client. */
  | { kind: "redirect"; redirectUri: string; state?: string; error: string; description: string };

const PROMPTS = new Set(["none", "login", "consent"]);

/**
 * Validates `/oauth/authorize` parameters against the client (undefined: unknown client). The
 * client and redirect URI are checked first: until both are known good, errors are shown,
 * never redirected (an open redirector otherwise). Then, in the order RFC 6749 §4.1.2.1 and
 * OAuth 2.1 imply: `response_type=code` only, PKCE `S256` mandatory (plain refused), scope
 * within what the client may have, `prompt`, `max_age`.
 */
export function validateAuthorizationRequest(
  client: Client | undefined,
  params: Readonly<Record<string, string | undefined>>,
): { ok: true; request: AuthorizationRequest } | { ok: false; error: AuthorizationRequestError } {
  if (!params.client_id)
    return page("The app that sent you here did not say who it is (client_id is missing).");
  if (!client) return page("The app that sent you here is not registered (unknown client_id).");
  let redirectUri = params.redirect_uri;
  if (redirectUri === undefined && client.redirectUris.length === 1) {
    redirectUri = client.redirectUris[0];
  }
  if (!redirectUri)
    return page("The app did not say where to return you (redirect_uri is missing).");
  if (!redirectUriMatches(client.redirectUris, redirectUri)) {
    return page(
      "The app asked to return you to an address it has not registered (redirect_uri), so you were not sent there.",
    );
  }
  const state = params.state;
  const fail = (error: string, description: string) =>
    ({
      ok: false,
      error: { kind: "redirect", redirectUri, state, error, description },
    }) as const;

  if (!client.grantTypes.includes("authorization_code")) {
    return fail("unauthorized_client", "This client may not use the authorization code flow");
  }
  if (params.response_type !== "code") {
    return fail("unsupported_response_type", "Only response_type=code is supported");
  }
  if (params.response_mode !== undefined && params.response_mode !== "query") {
    return fail("invalid_request", "Only response_mode=query is supported");
  }
  if (!params.code_challenge) {
    return fail("invalid_request", "PKCE is required: send code_challenge (S256)");
  }
  if (params.code_challenge_method !== "S256") {
    return fail("invalid_request", "code_challenge_method must be S256");
  }
  if (!isS256Challenge(params.code_challenge)) {
    return fail("invalid_request", "code_challenge is not a base64url SHA-256 value");
  }
  const scope = parseScopes(params.scope);
  const allowed = allowedScopes(client);
  const refused = scope.filter((s) => !allowed.has(s));
  if (refused.length > 0) {
    return fail("invalid_scope", `Scope not allowed for this client: ${refused.join(" ")}`);
  }
  const prompt = parseScopes(params.prompt) as string[];
  if (prompt.some((p) => !PROMPTS.has(p))) {
    return fail("invalid_request", "prompt must be none, login or consent");
  }
  if (prompt.includes("none") && prompt.length > 1) {
    return fail("invalid_request", "prompt=none cannot be combined with other values");
  }
  let maxAge: number | undefined;
  if (params.max_age !== undefined) {
    if (!/^\d{1,9}$/.test(params.max_age)) {
      return fail("invalid_request", "max_age must be a number of seconds");
    }
    maxAge = Number(params.max_age);
  }
  if (params.request !== undefined) {
    return {
      ok: false,
      error: {
        kind: "redirect",
        redirectUri,
        state,
        error: "request_not_supported",
        description: "Request objects are not supported; use PAR",
      },
    };
  }
  const request: AuthorizationRequest = {
    clientId: client.clientId,
    redirectUri,
    scope,
    codeChallenge: params.code_challenge,
    prompt: prompt as Prompt[],
  };
  if (state !== undefined) request.state = state;
  if (params.nonce !== undefined) request.nonce = params.nonce;
  if (maxAge !== undefined) request.maxAge = maxAge;
  if (params.login_hint !== undefined) request.loginHint = params.login_hint;
  return { ok: true, request };
}

const page = (description: string) =>
  ({ ok: false, error: { kind: "page", description } }) as const;

/**
 * The URL that answers the client (RFC 6749 §4.1.2, §4.1.2.1): its redirect URI with the
 * result, `state`, and `iss` (RFC 9207) added to the query.
 */
export function authorizationResponseUrl(
  redirectUri: string,
  issuer: string,
  params: Record<string, string | undefined>,
): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries({ ...params, iss: issuer })) {
    if (value !== undefined) url.searchParams.set(name, value);
  }
  return url.toString();
}
