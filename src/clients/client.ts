import type { clients } from "../db/schema.ts";
import { sha256Base64url } from "../lib/sha256.ts";

/** The built-in public client behind `/v1/signup` and `/v1/login`. */
export const FIRST_PARTY_CLIENT_ID = "first-party";

/** RFC 8693 token exchange: an upstream provider's id_token for a session (docs/design/upstream.md). */
export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";

/** Grant types a client may be registered for. */
export const CLIENT_GRANT_TYPES = [
  "refresh_token",
  "client_credentials",
  "authorization_code",
  TOKEN_EXCHANGE_GRANT,
] as const;
export type ClientGrantType = (typeof CLIENT_GRANT_TYPES)[number];

/** A client as the token endpoint sees it. */
export type Client = {
  clientId: string;
  name: string;
  /** Confidential clients authenticate with a secret (RFC 6749 §2.1). */
  confidential: boolean;
  secretHash: string | null;
  grantTypes: readonly string[];
  redirectUris: readonly string[];
  /** Where RP-initiated logout may send the browser back to. */
  postLogoutRedirectUris: readonly string[];
  scopes: readonly string[];
  /** Skips the consent page (the operator's own apps). */
  firstParty: boolean;
  /** JWS alg of its ID tokens (default RS256). */
  idTokenSignedResponseAlg: string;
  accessTokenTtl: number | null;
  /** Lifetime of sessions started by its code flow, in seconds; null: SESSION_MAX_AGE. */
  refreshTokenTtl: number | null;
  createdAt: number;
};

/**
 * The built-in public client behind `/v1/signup` and `/v1/login`: it refreshes without a
 * secret (an app cannot keep one), and only its own sessions' tokens; a mobile app naming no
 * client trades a provider's id_token through it (the native token exchange).
 */
export const FIRST_PARTY_CLIENT: Client = Object.freeze({
  clientId: FIRST_PARTY_CLIENT_ID,
  name: "Tessera first-party apps",
  confidential: false,
  secretHash: null,
  grantTypes: Object.freeze(["refresh_token", TOKEN_EXCHANGE_GRANT]),
  redirectUris: Object.freeze([]),
  postLogoutRedirectUris: Object.freeze([]),
  scopes: Object.freeze([]),
  firstParty: true,
  idTokenSignedResponseAlg: "RS256",
  accessTokenTtl: null,
  refreshTokenTtl: null,
  createdAt: 0,
});

/** Splits a space-delimited scope string (RFC 6749 §3.3) into distinct scopes. */
export function parseScopes(scope: string | undefined | null): string[] {
  return [...new Set((scope ?? "").split(" ").filter(Boolean))];
}

/** A row of `clients` as a {@link Client}. */
export function clientFromRow(row: typeof clients.$inferSelect): Client {
  return {
    clientId: row.clientId,
    name: row.name,
    confidential: row.secretHash !== null,
    secretHash: row.secretHash,
    grantTypes: JSON.parse(row.grantTypes) as string[],
    redirectUris: JSON.parse(row.redirectUris) as string[],
    postLogoutRedirectUris: JSON.parse(row.postLogoutRedirectUris) as string[],
    scopes: parseScopes(row.scopes),
    firstParty: row.firstParty,
    idTokenSignedResponseAlg: row.idTokenSignedResponseAlg ?? "RS256",
    accessTokenTtl: row.accessTokenTtl,
    refreshTokenTtl: row.refreshTokenTtl,
    createdAt: row.createdAt,
  };
}

/** base64url(SHA-256(secret)): what is stored for a confidential client's secret. */
export const hashClientSecret = (secret: string): Promise<string> => sha256Base64url(secret);
