import type { AccessTokenClaims } from "./access-token.ts";

/** Remembers access tokens that passed full verification, until they expire. */
export type VerifiedTokenCache = {
  /** The claims of `token` if it was verified before and is still within `exp` + skew. */
  get(token: string, nowMs: number): AccessTokenClaims | undefined;
  set(token: string, claims: AccessTokenClaims): void;
};

/**
 * A bounded cache of verified access tokens (exact token string → claims). A client sends
 * the same token for its whole lifetime, so repeat requests skip the signature check and
 * claim parsing (a tenth of `/v1/me`'s CPU in the profile). Only tokens that passed every
 * check are stored — garbage cannot fill it — and a hit is refused once `exp` (plus the
 * allowed skew) has passed. When full, the oldest entry goes.
 */
export function createVerifiedTokenCache(
  options: { maxEntries?: number; skewSeconds?: number } = {},
): VerifiedTokenCache {
  const maxEntries = options.maxEntries ?? 10_000;
  const skewMs = (options.skewSeconds ?? 0) * 1000;
  const entries = new Map<string, AccessTokenClaims>();
  return {
    get(token, nowMs) {
      const claims = entries.get(token);
      if (!claims) return undefined;
      if (nowMs >= claims.exp * 1000 + skewMs || nowMs + skewMs < claims.iat * 1000) {
        entries.delete(token);
        return undefined;
      }
      return claims;
    },
    set(token, claims) {
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
      entries.set(token, claims);
    },
  };
}
