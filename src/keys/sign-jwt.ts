import type { JWTPayload } from "jose";
import type { SigningAlg } from "../config.ts";
import { encodeBase64url } from "../lib/base64url.ts";
import type { KeyStore } from "./key-store.ts";

const encoder = new TextEncoder();
const encodeJson = (value: unknown) => encodeBase64url(JSON.stringify(value));

/**
 * Signs a JWT with the `current` key of `alg` (default: `SIGNING_ALG`): the JWS Compact
 * Serialization (RFC 7515 §7.1) of `claims` under the protected header `{alg, kid, typ}`.
 * The signature comes from the key store's {@link SignBytes}, so on Node it is one
 * synchronous call instead of a WebCrypto job on the thread pool.
 */
export async function signJwt(
  keys: Pick<KeyStore, "signingKey">,
  input: { alg?: SigningAlg; typ: string; claims: JWTPayload },
): Promise<string> {
  const key = await keys.signingKey(input.alg);
  const signingInput = `${encodeJson({ alg: key.alg, kid: key.kid, typ: input.typ })}.${encodeJson(input.claims)}`;
  const signature = await key.sign(encoder.encode(signingInput));
  return `${signingInput}.${encodeBase64url(signature)}`;
}
