import { base64url } from "jose";

/** The two parts of a refresh token the MAC binds together. */
export type RefreshTokenSubject = { sessionId: string; generation: number };

const encoder = new TextEncoder();
// Session ids are 22-char base64url; generations are non-negative integers.
const SHAPE = /^([A-Za-z0-9_-]{22})\.(0|[1-9]\d{0,14})\.([A-Za-z0-9_-]{43})$/;

/**
 * Mints the opaque refresh token `<sessionId>.<generation>.<mac>` with
 * mac = base64url(HMAC-SHA256(refreshKey, "<sessionId>.<generation>")).
 */
export async function mintRefreshToken(
  macKey: CryptoKey,
  { sessionId, generation }: RefreshTokenSubject,
): Promise<string> {
  const message = `${sessionId}.${generation}`;
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", macKey, encoder.encode(message)));
  return `${message}.${base64url.encode(mac)}`;
}

/**
 * Reads a refresh token, checking its MAC in constant time (`crypto.subtle.verify`).
 * Returns undefined for anything malformed or forged, without touching storage.
 */
export async function readRefreshToken(
  macKey: CryptoKey,
  token: string,
): Promise<RefreshTokenSubject | undefined> {
  const match = SHAPE.exec(token);
  if (!match) return undefined;
  const [, sessionId, generation, mac] = match as unknown as [string, string, string, string];
  let macBytes: Uint8Array;
  try {
    macBytes = base64url.decode(mac);
  } catch {
    return undefined;
  }
  const valid = await crypto.subtle.verify(
    "HMAC",
    macKey,
    macBytes,
    encoder.encode(`${sessionId}.${generation}`),
  );
  return valid ? { sessionId, generation: Number(generation) } : undefined;
}
