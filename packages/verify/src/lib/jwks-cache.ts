import {
  type CompactJWSHeaderParameters,
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type LocalJWKSet,
} from "jose";
import { TesseraVerifyError } from "../errors.ts";
import { type FreshnessBounds, freshnessLifetimeMs, JWKS_FRESHNESS } from "./cache-control.ts";
import { discard, type HttpClient, readJsonObject } from "./http.ts";

/**
 * At most one refetch per this interval is caused by tokens naming an unknown `kid`, so a
 * flood of forged `kid`s cannot become a flood of requests to the issuer.
 */
export const UNKNOWN_KID_COOLDOWN_MS = 30_000;

/** A fetched key set and what HTTP caching said about it. */
type Snapshot = {
  url: string;
  keys: LocalJWKSet;
  kids: ReadonlySet<string>;
  etag: string | undefined;
  lifetimeMs: number;
  freshUntil: number;
};

/** What the cache needs: where the JWKS is, how to fetch it, and the time. */
export type JwksCacheOptions = {
  /** Resolves the JWKS URL (the configured one, or discovered once). */
  jwksUrl: () => Promise<string>;
  /** The HTTP client (fetch with a timeout). */
  http: HttpClient;
  /** Milliseconds since the epoch. */
  now: () => number;
  /** Minimum time between refetches caused by unknown `kid`s; default 30 s. */
  cooldownMs?: number;
  /** Clamp and default for the JWKS freshness lifetime. */
  bounds?: FreshnessBounds;
};

/** A JWKS kept fresh by HTTP caching rules and refetched (rate-limited) on a new `kid`. */
export type JwksCache = {
  /** jose's key resolver: the public key for the header's `kid` and `alg`. */
  getKey(header: CompactJWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey>;
};

/**
 * Creates the cache. Every fetch, whatever caused it, is one shared in-flight promise, so
 * concurrent verifications wait for the same response. Keys are selected and imported by
 * jose's `createLocalJWKSet` (which also checks `alg` against the JWK's `alg`, `kty`, `crv`
 * and `use`, RFC 8725 §3.1); nothing here parses keys or signatures.
 */
export function createJwksCache(options: JwksCacheOptions): JwksCache {
  const { http, now } = options;
  const cooldownMs = options.cooldownMs ?? UNKNOWN_KID_COOLDOWN_MS;
  const bounds = options.bounds ?? JWKS_FRESHNESS;
  let snapshot: Snapshot | undefined;
  let inflight: Promise<Snapshot> | undefined;
  let lastFetchAt = Number.NEGATIVE_INFINITY;

  async function fetchSnapshot(): Promise<Snapshot> {
    const url = await options.jwksUrl();
    const headers: Record<string, string> = {
      Accept: "application/jwk-set+json, application/json",
    };
    const previous = snapshot?.url === url ? snapshot : undefined;
    // RFC 9110 §13.1.2: revalidate with the stored entity tag.
    if (previous?.etag) headers["If-None-Match"] = previous.etag;
    const res = await http.get(url, headers);
    const at = now();
    if (res.status === 304 && previous) {
      await discard(res);
      // RFC 9111 §4.3.4: a 304 refreshes the stored response; absent headers keep theirs.
      const lifetimeMs = freshnessLifetimeMs(res.headers, bounds) ?? previous.lifetimeMs;
      return { ...previous, lifetimeMs, freshUntil: at + lifetimeMs };
    }
    if (!res.ok) {
      await discard(res);
      throw new TesseraVerifyError("jwks_unavailable", `The JWKS endpoint answered ${res.status}`);
    }
    const body = await readJsonObject(res, "JWKS");
    let keys: LocalJWKSet;
    try {
      keys = createLocalJWKSet(body as unknown as JSONWebKeySet);
    } catch {
      throw new TesseraVerifyError("jwks_unavailable", "The JWKS is not a valid JSON Web Key Set");
    }
    const kids = new Set<string>();
    for (const jwk of (body as unknown as JSONWebKeySet).keys) {
      if (typeof jwk.kid === "string") kids.add(jwk.kid);
    }
    const lifetimeMs = freshnessLifetimeMs(res.headers, bounds) ?? bounds.fallbackMs;
    const etag = res.headers.get("etag") ?? undefined;
    return { url, keys, kids, etag, lifetimeMs, freshUntil: at + lifetimeMs };
  }

  /** Starts a fetch, or joins the one under way. */
  function load(): Promise<Snapshot> {
    if (!inflight) {
      lastFetchAt = now();
      inflight = fetchSnapshot()
        .then((fetched) => {
          snapshot = fetched;
          return fetched;
        })
        .finally(() => {
          inflight = undefined;
        });
    }
    return inflight;
  }

  /** The fresh snapshot; a stale one is revalidated, and kept if revalidation fails. */
  async function current(): Promise<Snapshot> {
    if (snapshot && now() < snapshot.freshUntil) return snapshot;
    try {
      return await load();
    } catch (error) {
      if (!snapshot) throw error;
      // Serve the stale set rather than refuse every token while the issuer is down;
      // try again after the cooldown.
      snapshot.freshUntil = now() + cooldownMs;
      return snapshot;
    }
  }

  return {
    async getKey(header, token) {
      const { kid } = header;
      if (typeof kid !== "string" || kid === "") {
        throw new TesseraVerifyError("malformed_token", "The token header has no kid");
      }
      let found = await current();
      if (!found.kids.has(kid) && (inflight || now() - lastFetchAt >= cooldownMs)) {
        // RFC 7517 §4.5: a new kid may mean the issuer rotated keys; look once more.
        found = await load().catch(() => found);
      }
      if (!found.kids.has(kid)) {
        throw new TesseraVerifyError("unknown_key", "No published key matches the token's kid");
      }
      try {
        return await found.keys(header, token);
      } catch (error) {
        if (error instanceof errors.JWKSNoMatchingKey) {
          throw new TesseraVerifyError(
            "algorithm_not_allowed",
            "The token's alg does not match the published key",
          );
        }
        if (error instanceof errors.JWKSMultipleMatchingKeys) {
          throw new TesseraVerifyError("unknown_key", "More than one published key has this kid");
        }
        throw new TesseraVerifyError("jwks_unavailable", "The published key cannot be used");
      }
    },
  };
}
