import { TesseraVerifyError } from "../errors.ts";
import type { FetchLike } from "../types.ts";

/** How long one metadata or JWKS request may take before it counts as unavailable. */
export const FETCH_TIMEOUT_MS = 5_000;

/** An HTTP client bound to a `fetch` and a timeout. */
export type HttpClient = {
  /**
   * GETs `url` with `headers`, redirects not followed; network errors and timeouts become
   * `jwks_unavailable`.
   */
  get(url: string, headers: Record<string, string>): Promise<Response>;
  /** POSTs a form; failures become `introspection_unavailable`. */
  postForm(url: string, headers: Record<string, string>, form: URLSearchParams): Promise<Response>;
};

/** Wraps `fetch` (web-standard only: `AbortSignal.timeout` exists in every target runtime). */
export function createHttpClient(fetchFn: FetchLike, timeoutMs = FETCH_TIMEOUT_MS): HttpClient {
  return {
    async get(url, headers) {
      try {
        return await fetchFn(url, {
          method: "GET",
          headers,
          // As jose's remote JWKS does: a redirect is a failure, never a detour to other keys.
          redirect: "manual",
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (cause) {
        // No URL in the message: a configured URL may carry credentials.
        throw new TesseraVerifyError("jwks_unavailable", "Could not reach the issuer", { cause });
      }
    },
    async postForm(url, headers, form) {
      try {
        return await fetchFn(url, {
          method: "POST",
          headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded" },
          body: form.toString(),
          redirect: "manual",
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (cause) {
        throw new TesseraVerifyError(
          "introspection_unavailable",
          "Could not reach the introspection endpoint",
          { cause },
        );
      }
    },
  };
}

/** Reads a JSON object body, or throws `jwks_unavailable` naming what was expected. */
export async function readJsonObject(
  res: Response,
  what: string,
): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new TesseraVerifyError("jwks_unavailable", `The ${what} is not JSON`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new TesseraVerifyError("jwks_unavailable", `The ${what} is not a JSON object`);
  }
  return body as Record<string, unknown>;
}

/** Releases a response body that will not be read (keeps connection pools healthy). */
export async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // Nothing to release.
  }
}
