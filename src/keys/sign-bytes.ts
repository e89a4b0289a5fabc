import type { SigningAlg } from "../config.ts";

/**
 * Computes a JWS signature (RFC 7515 §5.1 step 5) over `data` with a private key, in the form
 * JWA gives it: Ed25519's 64 bytes (RFC 8037 §3.1), ECDSA's R ‖ S (RFC 7518 §3.4), RSASSA-PKCS1
 * v1.5 (RFC 7518 §3.3). Each runtime passes the fastest one it has (the Node entry: a
 * synchronous `node:crypto` one); {@link webCryptoSignBytes} is the default.
 */
export type SignBytes = (
  alg: SigningAlg,
  privateKey: CryptoKey,
  data: Uint8Array,
) => Uint8Array | Promise<Uint8Array>;

/** The WebCrypto algorithm parameters for each JWA `alg`. */
const WEBCRYPTO_PARAMS: Record<SigningAlg, Parameters<SubtleCrypto["sign"]>[0]> = {
  EdDSA: "Ed25519",
  ES256: { name: "ECDSA", hash: "SHA-256" },
  RS256: "RSASSA-PKCS1-v1_5",
};

/** {@link SignBytes} through WebCrypto, on both runtimes (its ECDSA output is already R ‖ S). */
export const webCryptoSignBytes: SignBytes = async (alg, privateKey, data) =>
  new Uint8Array(await crypto.subtle.sign(WEBCRYPTO_PARAMS[alg], privateKey, data));
