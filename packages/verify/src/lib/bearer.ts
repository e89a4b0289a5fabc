/**
 * The credentials of an `Authorization` header (RFC 6750 §2.1): `Bearer` in any case, then
 * the b64token. `undefined` when there is no header or another scheme: the request has no
 * bearer credentials at all. `""` when the scheme is Bearer but the token is malformed.
 */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer(?:\s+(.*))?$/i.exec(authorization?.trim() ?? "");
  if (!match) return undefined;
  const credentials = match[1]?.trim() ?? "";
  if (credentials === "") return undefined;
  return /^[A-Za-z0-9\-._~+/]+=*$/.test(credentials) ? credentials : "";
}

/** An RFC 6750 error response with `Cache-Control: no-store`. */
export function bearerError(
  status: 401 | 403 | 503,
  body: { error: string; error_description: string },
  challenge?: string,
): Response {
  const headers: Record<string, string> = { "Cache-Control": "no-store" };
  if (challenge) headers["WWW-Authenticate"] = challenge;
  if (status === 503) headers["Retry-After"] = "5";
  return Response.json(body, { status, headers });
}
