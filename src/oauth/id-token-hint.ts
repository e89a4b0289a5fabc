import { compactVerify, errors } from "jose";
import type { KeyStore } from "../keys/key-store.ts";

/**
 * Reads an `id_token_hint` (OIDC RP-Initiated Logout 1.0 §2): an ID token this issuer signed,
 * possibly expired (the spec asks to accept those). Returns its audience (the client) and
 * subject, or undefined when the signature, issuer or shape is wrong.
 */
export async function readIdTokenHint(
  keys: Pick<KeyStore, "verificationKey">,
  input: { token: string; issuer: string },
): Promise<{ clientId: string; sub: string; sid?: string } | undefined> {
  try {
    const { payload } = await compactVerify(input.token, async (header) => {
      const found = header.kid ? await keys.verificationKey(header.kid) : undefined;
      if (!found || found.alg !== header.alg) throw new errors.JWKSNoMatchingKey();
      return found.key;
    });
    const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    const aud = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
    if (claims.iss !== input.issuer || typeof aud !== "string" || typeof claims.sub !== "string") {
      return undefined;
    }
    return {
      clientId: aud,
      sub: claims.sub,
      ...(typeof claims.sid === "string" ? { sid: claims.sid } : {}),
    };
  } catch (error) {
    if (error instanceof errors.JOSEError || error instanceof SyntaxError) return undefined;
    throw error;
  }
}
