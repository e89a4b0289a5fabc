import { decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { SIGNING_ALGS, type SigningAlg } from "./config.ts";
import type { SigningKey } from "./keys/key-store.ts";
import { type SignBytes, webCryptoSignBytes } from "./keys/sign-bytes.ts";
import { signJwt } from "./keys/sign-jwt.ts";
import { nodeSignBytes } from "./node-runtime.ts";

/** A one-key store, as createKeyStore builds its signing keys. */
async function oneKeyStore(alg: SigningAlg, signBytes: SignBytes) {
  const { privateKey, publicKey } = await generateKeyPair(
    alg,
    alg === "EdDSA" ? { crv: "Ed25519" } : {},
  );
  const key: SigningKey = {
    kid: `kid-${alg}`,
    alg,
    privateKey,
    sign: (data) => signBytes(alg, privateKey, data),
  };
  return { store: { signingKey: async () => key }, publicKey, privateKey };
}

const claims = { iss: "https://issuer.test", sub: "user-1", aud: "api", exp: 2e9, iat: 1.9e9 };

describe("signJwt with WebCrypto and with the Node entry's node:crypto signatures", () => {
  for (const alg of SIGNING_ALGS) {
    for (const [name, signBytes] of [
      ["WebCrypto", webCryptoSignBytes],
      ["node:crypto", nodeSignBytes],
    ] as const) {
      it(`${alg} through ${name}: a compact JWS that jose verifies, header exactly {alg, kid, typ}`, async () => {
        const { store, publicKey } = await oneKeyStore(alg, signBytes);
        const token = await signJwt(store, { typ: "at+jwt", claims: { ...claims, jti: "j" } });
        expect(decodeProtectedHeader(token)).toEqual({ alg, kid: `kid-${alg}`, typ: "at+jwt" });
        const { payload } = await jwtVerify(token, publicKey, {
          algorithms: [alg],
          typ: "at+jwt",
          issuer: claims.iss,
          audience: "api",
          currentDate: new Date(1.95e12),
        });
        expect(payload).toEqual({ ...claims, jti: "j" });
        // Any change to the signed bytes is refused.
        const [h, p, s] = token.split(".") as [string, string, string];
        const flipped = `${h}.${p}.${s.startsWith("A") ? "B" : "A"}${s.slice(1)}`;
        await expect(jwtVerify(flipped, publicKey, { algorithms: [alg] })).rejects.toThrow();
      });
    }
  }

  it("node:crypto and WebCrypto give the same Ed25519 signature (it is deterministic)", async () => {
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const data = new TextEncoder().encode("header.payload");
    const viaNode = await nodeSignBytes("EdDSA", privateKey, data);
    const viaWebCrypto = await webCryptoSignBytes("EdDSA", privateKey, data);
    expect(Buffer.from(viaNode).toString("hex")).toBe(Buffer.from(viaWebCrypto).toString("hex"));
  });

  it("node:crypto signs with a key that cannot be exported (as the key store imports them)", async () => {
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const jwk = await exportJWK(privateKey);
    const { importJWK } = await import("jose");
    const locked = (await importJWK(jwk, "ES256")) as CryptoKey;
    expect(locked.extractable).toBe(false);
    const signature = await nodeSignBytes("ES256", locked, new Uint8Array([1, 2, 3]));
    // R ‖ S, 32 bytes each (RFC 7518 §3.4), not DER.
    expect(signature).toHaveLength(64);
  });
});
