import { CompactEncrypt, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";
import type { SigningAlg } from "../config.ts";
import type { KeyStatus } from "../db/schema.ts";

/** A freshly generated key as stored in `signing_keys`. */
export type NewSigningKey = {
  kid: string;
  alg: SigningAlg;
  status: KeyStatus;
  publicJwk: string;
  privateJwkJwe: string;
  createdAt: number;
  activatedAt: number | null;
};

/** Public members only, as published in the JWKS (RFC 7517 §4). */
export function publicMembers(jwk: JWK): JWK {
  const { kty, crv, x, y, n, e } = jwk;
  return Object.fromEntries(
    Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined),
  ) as JWK;
}

/**
 * Generates a key pair for `alg`; the kid is its RFC 7638 thumbprint, and the private JWK
 * is sealed as a compact JWE (`dir` + `A256GCM`) under the key-encryption key.
 */
export async function generateSigningKey(options: {
  alg: SigningAlg;
  status: KeyStatus;
  keyEncryptionKey: Uint8Array;
  now: number;
}): Promise<NewSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(options.alg, {
    extractable: true,
    ...(options.alg === "RS256" ? { modulusLength: 2048 } : {}),
  });
  const publicJwk = publicMembers(await exportJWK(publicKey));
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(privateKey);
  const privateJwkJwe = await new CompactEncrypt(
    new TextEncoder().encode(JSON.stringify(privateJwk)),
  )
    .setProtectedHeader({ alg: "dir", enc: "A256GCM", kid })
    .encrypt(options.keyEncryptionKey);
  return {
    kid,
    alg: options.alg,
    status: options.status,
    publicJwk: JSON.stringify({ ...publicJwk, kid, alg: options.alg, use: "sig" }),
    privateJwkJwe,
    createdAt: options.now,
    activatedAt: options.status === "current" ? options.now : null,
  };
}
