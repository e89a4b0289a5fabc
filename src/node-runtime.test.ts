import { sign as nodeSign, webcrypto } from "node:crypto";
import {
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
} from "jose";
import { describe, expect, it } from "vitest";
import { SIGNING_ALGS } from "./config.ts";
import { installSynchronousSigning } from "./node-runtime.ts";

const subtle = webcrypto.subtle as unknown as SubtleCrypto;

/** A private key as the key store holds it: imported from a JWK, not extractable. */
async function storedKeyPair(alg: string) {
  const generated = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === "EdDSA" ? { crv: "Ed25519" } : {}),
  });
  const privateKey = (await importJWK(await exportJWK(generated.privateKey), alg)) as CryptoKey;
  return { privateKey, publicKey: generated.publicKey };
}

describe("installSynchronousSigning (the Node entry's WebCrypto sign)", () => {
  installSynchronousSigning();
  installSynchronousSigning(); // once is enough; again changes nothing

  for (const alg of SIGNING_ALGS) {
    it(`${alg}: jose's SignJWT through it gives tokens jose verifies; a changed byte is refused`, async () => {
      const { privateKey, publicKey } = await storedKeyPair(alg);
      expect(privateKey.extractable).toBe(false);
      const token = await new SignJWT({ client_id: "c" })
        .setProtectedHeader({ alg, kid: "k", typ: "at+jwt" })
        .setIssuer("https://issuer.test")
        .setAudience("api")
        .setSubject("user-1")
        .setIssuedAt(1.9e9)
        .setExpirationTime(2e9)
        .sign(privateKey);
      expect(decodeProtectedHeader(token)).toEqual({ alg, kid: "k", typ: "at+jwt" });
      const { payload } = await jwtVerify(token, publicKey, {
        algorithms: [alg],
        typ: "at+jwt",
        issuer: "https://issuer.test",
        audience: "api",
        currentDate: new Date(1.95e12),
      });
      expect(payload.sub).toBe("user-1");
      const [h, p, s] = token.split(".") as [string, string, string];
      const flipped = `${h}.${p}.${s.startsWith("A") ? "B" : "A"}${s.slice(1)}`;
      await expect(jwtVerify(flipped, publicKey, { algorithms: [alg] })).rejects.toThrow();
    });
  }

  it("signs on the event loop: the same bytes as node:crypto for Ed25519 and PKCS#1 v1.5, R ‖ S for ECDSA", async () => {
    const data = new TextEncoder().encode("header.payload");
    const ed = await storedKeyPair("EdDSA");
    const edSignature = new Uint8Array(await subtle.sign("Ed25519", ed.privateKey, data));
    expect(Buffer.from(edSignature)).toEqual(nodeSign(null, data, ed.privateKey as never));
    const rs = await storedKeyPair("RS256");
    const rsParams = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    const rsSignature = new Uint8Array(await subtle.sign(rsParams, rs.privateKey, data));
    expect(Buffer.from(rsSignature)).toEqual(nodeSign("sha256", data, rs.privateKey as never));
    const es = await storedKeyPair("ES256");
    const esParams = { name: "ECDSA", hash: "SHA-256" };
    const esSignature = await subtle.sign(esParams, es.privateKey, data);
    expect(esSignature.byteLength).toBe(64);
    expect(await subtle.verify(esParams, es.publicKey, esSignature, data)).toBe(true);
  });

  it("answers without a thread-pool round trip: settled before any I/O callback can run", async () => {
    const ed = await storedKeyPair("EdDSA");
    const data = new TextEncoder().encode("header.payload");
    let settled = false;
    const signing = subtle.sign("Ed25519", ed.privateKey, data).then(() => {
      settled = true;
    });
    // Microtasks only: a pool job's result could not have been delivered yet.
    for (let i = 0; i < 3; i++) await Promise.resolve();
    expect(settled).toBe(true);
    await signing;
    // HMAC still goes through the pool: not settled after the same microtasks.
    const hmac = (await subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ])) as CryptoKey;
    let hmacSettled = false;
    const viaPool = subtle.sign("HMAC", hmac, data).then(() => {
      hmacSettled = true;
    });
    for (let i = 0; i < 3; i++) await Promise.resolve();
    expect(hmacSettled).toBe(false);
    await viaPool;
  });

  it("is the WebCrypto jose signs with (the global crypto.subtle)", () => {
    expect((globalThis as unknown as { crypto: Crypto }).crypto.subtle).toBe(webcrypto.subtle);
  });

  it("leaves everything else to WebCrypto, with WebCrypto's errors", async () => {
    const data = new TextEncoder().encode("message");
    // An RSA key made for SHA-384: WebCrypto signs with its hash.
    const rsa384 = (await subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-384",
      },
      false,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const rsaSignature = await subtle.sign("RSASSA-PKCS1-v1_5", rsa384.privateKey, data);
    expect(await subtle.verify("RSASSA-PKCS1-v1_5", rsa384.publicKey, rsaSignature, data)).toBe(
      true,
    );
    await expect(subtle.sign("Ed25519", null as unknown as CryptoKey, data)).rejects.toThrow();
    // HMAC, ECDSA on P-384, and a hash the key was not made for.
    const hmac = (await subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ])) as CryptoKey;
    expect((await subtle.sign("HMAC", hmac, data)).byteLength).toBe(32);
    const p384 = (await subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, false, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const p384Params = { name: "ECDSA", hash: "SHA-384" };
    const p384Signature = await subtle.sign(p384Params, p384.privateKey, data);
    expect(await subtle.verify(p384Params, p384.publicKey, p384Signature, data)).toBe(true);
    // A public key cannot sign, nor can a key under another algorithm's name.
    const ed = await storedKeyPair("EdDSA");
    await expect(subtle.sign("Ed25519", ed.publicKey as CryptoKey, data)).rejects.toThrow();
    await expect(
      subtle.sign({ name: "ECDSA", hash: "SHA-256" }, ed.privateKey, data),
    ).rejects.toThrow();
  });
});
