/** The OpenID Connect scopes Tessera serves (OIDC Core §5.4, §11). */
export const OIDC_SCOPES = ["openid", "profile", "email", "offline_access"] as const;

/** Scopes a client may ask for at /oauth/authorize: the OIDC ones and those it was registered with. */
export function allowedScopes(client: { scopes: readonly string[] }): Set<string> {
  return new Set([...OIDC_SCOPES, ...client.scopes]);
}
