/**
 * Claims of a verified Tessera access token (RFC 9068 §2.2). Every property listed
 * without `?` has been checked to be present and of the stated type.
 */
export type TesseraClaims = {
  /** The issuer, exactly the configured one. */
  iss: string;
  /** The user id, or the client id for client-credentials tokens. */
  sub: string;
  /** The audience(s); contains the configured audience. */
  aud: string | string[];
  /** Expiry, seconds since the epoch. */
  exp: number;
  /** Issue time, seconds since the epoch. */
  iat: number;
  /** Unique token id. */
  jti: string;
  /** The OAuth client the token was issued to (`first-party` for Tessera's own sign-in). */
  client_id: string;
  /** Session id; absent on client-credentials tokens. */
  sid?: string;
  /** Space-separated scopes (RFC 9068 §2.2.3), when the token has any. */
  scope?: string;
  /** Any further claim, unchecked. */
  [claim: string]: unknown;
};

/** A clock returning milliseconds since the epoch; inject one to move time in tests. */
export type Clock = { now(): number };

/**
 * The subset of `fetch` the verifier uses. `globalThis.fetch` fits, as does any function
 * that answers a URL string and a `RequestInit` with a `Response`.
 */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;
