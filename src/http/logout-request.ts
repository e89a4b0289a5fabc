import type { Context } from "hono";
import type { Client } from "../clients/client.ts";
import { findClient } from "../clients/client-store.ts";
import { readIdTokenHint } from "../oauth/id-token-hint.ts";
import type { AppEnv } from "./app-env.ts";

/** A validated RP-initiated logout request (OIDC RP-Initiated Logout 1.0 §2, §3). */
export type LogoutRequest = {
  client?: Client;
  /** Registered for `client`: where to send the browser after signing out. */
  postLogoutRedirectUri?: string;
  state?: string;
  idTokenHint?: string;
};

/**
 * Validates `id_token_hint`, `client_id`, `post_logout_redirect_uri` and `state`. The redirect
 * is honoured only when a client is identified (by a valid hint, or `client_id` agreeing with
 * it) and has registered that exact URI — otherwise logout would be an open redirector.
 * Returns the reason as a string when the request must be refused with an error page.
 */
export async function validateLogoutRequest(
  c: Context<AppEnv>,
  params: Readonly<Record<string, string | undefined>>,
): Promise<LogoutRequest | string> {
  const { db, keys, config } = c.get("deps");
  let clientId = params.client_id;
  if (params.id_token_hint) {
    const hint = await readIdTokenHint(keys, {
      token: params.id_token_hint,
      issuer: config.issuer,
    });
    if (!hint) return "The id_token_hint is not an ID token of this issuer";
    if (clientId !== undefined && clientId !== hint.clientId) {
      return "client_id does not match the id_token_hint";
    }
    clientId = hint.clientId;
  }
  const client = clientId ? await findClient(db, clientId) : undefined;
  if (clientId && !client) return "Unknown client_id";
  const request: LogoutRequest = {};
  if (client) request.client = client;
  if (params.state !== undefined) request.state = params.state;
  if (params.id_token_hint) request.idTokenHint = params.id_token_hint;
  if (params.post_logout_redirect_uri !== undefined) {
    if (!client) return "post_logout_redirect_uri needs id_token_hint or client_id";
    if (!client.postLogoutRedirectUris.includes(params.post_logout_redirect_uri)) {
      return "post_logout_redirect_uri is not registered for this client";
    }
    request.postLogoutRedirectUri = params.post_logout_redirect_uri;
  }
  return request;
}
