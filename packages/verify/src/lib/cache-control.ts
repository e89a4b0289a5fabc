/** Bounds on how long a fetched JWKS is reused, in milliseconds. */
export type FreshnessBounds = { minMs: number; maxMs: number; fallbackMs: number };

/** Tessera's defaults: 300 s when the server says nothing, clamped to 30 s .. 24 h. */
export const JWKS_FRESHNESS: FreshnessBounds = {
  minMs: 30_000,
  maxMs: 24 * 60 * 60 * 1000,
  fallbackMs: 300_000,
};

/**
 * How long a response stays fresh (RFC 9111 §4.2.1: `max-age`, less any `Age` an
 * intermediary cache reports, §4.2.3), clamped to `bounds`. `no-store` and `no-cache` mean
 * "revalidate each time" (§5.2.2.4, §5.2.2.5), which for a key set is clamped to the
 * minimum so that verification does not become one fetch per token. Returns `undefined`
 * when the response carries no freshness information, so a 304 can keep the stored value
 * (§4.3.4).
 */
export function freshnessLifetimeMs(
  headers: Headers,
  bounds: FreshnessBounds = JWKS_FRESHNESS,
): number | undefined {
  const header = headers.get("cache-control");
  if (header === null) return undefined;
  let seconds: number | undefined;
  for (const part of header.split(",")) {
    const [rawName = "", rawValue] = part.split("=", 2);
    const name = rawName.trim().toLowerCase();
    if (name === "no-store" || name === "no-cache") return bounds.minMs;
    if (name === "max-age" && rawValue !== undefined) {
      const value = rawValue.trim().replace(/^"(.*)"$/, "$1");
      // §1.2.2: delta-seconds is 1*DIGIT; anything else is invalid and ignored.
      if (/^\d+$/.test(value)) seconds = Number(value);
    }
  }
  if (seconds === undefined) return undefined;
  const age = Number(headers.get("age"));
  const remaining = seconds - (Number.isFinite(age) && age > 0 ? age : 0);
  return Math.min(bounds.maxMs, Math.max(bounds.minMs, remaining * 1000));
}
