import { TesseraVerifyError } from "../errors.ts";
import { discard, type HttpClient, readJsonObject } from "./http.ts";

/**
 * Where the issuer's metadata may live, in the order tried: RFC 8414 §3 appended to the
 * issuer (what Tessera serves, and the §3.1 form for an issuer without a path), the §3.1
 * form with the well-known segment inserted before a path, then OpenID Connect Discovery
 * 1.0 §4 (`/.well-known/openid-configuration` appended).
 */
export function metadataUrls(issuer: string): string[] {
  const base = issuer.replace(/\/+$/, "");
  const { origin, pathname } = new URL(issuer);
  const path = pathname.replace(/\/+$/, "");
  const urls = [
    `${base}/.well-known/oauth-authorization-server`,
    `${origin}/.well-known/oauth-authorization-server${path}`,
    `${base}/.well-known/openid-configuration`,
  ];
  return [...new Set(urls)];
}

/**
 * Finds the issuer's `jwks_uri` (and `introspection_endpoint`, RFC 8414 §2 / RFC 7662 §4). A metadata URL that does not answer 2xx is skipped; the
 * first document found must name exactly the configured issuer (RFC 8414 §3.3), which
 * stops a metadata document from redirecting verification to someone else's keys.
 */
export async function discoverEndpoints(
  issuer: string,
  http: HttpClient,
): Promise<{ jwksUri: string; introspectionEndpoint: string | undefined }> {
  for (const url of metadataUrls(issuer)) {
    const res = await http.get(url, { Accept: "application/json" });
    if (!res.ok) {
      await discard(res);
      continue;
    }
    const metadata = await readJsonObject(res, "issuer metadata");
    if (metadata.issuer !== issuer) {
      throw new TesseraVerifyError(
        "jwks_unavailable",
        "The issuer metadata names a different issuer than the one configured",
      );
    }
    const jwksUri = metadata.jwks_uri;
    if (typeof jwksUri !== "string" || !isHttpUrl(jwksUri)) {
      throw new TesseraVerifyError("jwks_unavailable", "The issuer metadata has no valid jwks_uri");
    }
    const introspection = metadata.introspection_endpoint;
    return {
      jwksUri,
      introspectionEndpoint:
        typeof introspection === "string" && isHttpUrl(introspection) ? introspection : undefined,
    };
  }
  throw new TesseraVerifyError("jwks_unavailable", "The issuer publishes no metadata document");
}

/** True for an absolute `http:` or `https:` URL. */
export function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === "https:" || protocol === "http:";
  } catch {
    return false;
  }
}
