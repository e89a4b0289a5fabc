import { ACCESS_TOKEN_ALGORITHMS, type AccessTokenAlgorithm } from "./algorithms.ts";
import { isHttpUrl } from "./discovery.ts";
import { FETCH_TIMEOUT_MS } from "./http.ts";

/** Other services' clocks drift from the issuer's: allow 30 s of skew by default (Tessera's own endpoints allow 5 s). */
export const DEFAULT_CLOCK_TOLERANCE_S = 30;

/**
 * The algorithms a verifier accepts: a non-empty subset of {@link ACCESS_TOKEN_ALGORITHMS}.
 * Anything else (`none`, HS*, typos) is a configuration error at start, not a silent
 * widening (RFC 8725 §3.1: the verifier, not the token, decides the algorithm).
 */
export function allowedAlgorithms(
  algorithms: readonly string[] | undefined,
): AccessTokenAlgorithm[] {
  if (algorithms === undefined) return [...ACCESS_TOKEN_ALGORITHMS];
  const known: readonly string[] = ACCESS_TOKEN_ALGORITHMS;
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new TypeError("tessera/verify: `algorithms` must be a non-empty array");
  }
  for (const alg of algorithms) {
    if (!known.includes(alg)) {
      throw new TypeError(
        `tessera/verify: algorithm ${JSON.stringify(alg)} is not allowed; use ${known.join(", ")}`,
      );
    }
  }
  return [...new Set(algorithms)] as AccessTokenAlgorithm[];
}

/** Clock tolerance in seconds: a finite number ≥ 0. */
export function clockToleranceSeconds(value: number | undefined): number {
  if (value === undefined) return DEFAULT_CLOCK_TOLERANCE_S;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError("tessera/verify: `clockTolerance` must be a number of seconds ≥ 0");
  }
  return value;
}

/** The issuer: an absolute http(s) URL, compared as an exact string (RFC 8414 §3.3). */
export function issuerOption(value: string): string {
  if (typeof value !== "string" || !isHttpUrl(value)) {
    throw new TypeError("tessera/verify: `issuer` must be the issuer's http(s) URL");
  }
  return value;
}

/** The audience: one non-empty string, or a non-empty list of them. */
export function audienceOption(value: string | readonly string[]): string | string[] {
  const list = typeof value === "string" ? [value] : Array.isArray(value) ? value : [];
  if (list.length === 0 || list.some((aud) => typeof aud !== "string" || aud === "")) {
    throw new TypeError("tessera/verify: `audience` must be a non-empty string or list");
  }
  return typeof value === "string" ? value : [...list];
}

/** The JWKS URL when configured: an absolute http(s) URL. */
export function jwksUrlOption(value: string | URL | undefined): string | undefined {
  if (value === undefined) return undefined;
  const url = String(value);
  if (!isHttpUrl(url)) throw new TypeError("tessera/verify: `jwksUrl` must be an http(s) URL");
  return url;
}

/** The per-request timeout in milliseconds: a positive finite number. */
export function timeoutOption(value: number | undefined): number {
  if (value === undefined) return FETCH_TIMEOUT_MS;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new TypeError("tessera/verify: `timeout` must be a positive number of milliseconds");
  }
  return value;
}
