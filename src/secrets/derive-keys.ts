import { base64url } from "jose";

/** Keys derived from the master secret, each for one purpose. */
export type DerivedKeys = {
  /** 256-bit HMAC-SHA256 key binding refresh tokens to `<sessionId>.<generation>`. */
  refreshMacKey: Uint8Array;
  /** 256-bit key encrypting private signing keys at rest (JWE `dir` + `A256GCM`). */
  keyEncryptionKey: Uint8Array;
  /** 256-bit HMAC-SHA256 key under which emailed codes are stored. */
  emailCodeKey: Uint8Array;
  /** 256-bit HMAC-SHA256 key signing `webhook:` email deliveries (`Tessera-Signature`). */
  webhookSigningKey: Uint8Array;
  /** 256-bit HMAC-SHA256 key binding the hosted pages' CSRF form field to its cookie. */
  formCsrfKey: Uint8Array;
  /** 256-bit key encrypting upstream providers' client secrets and Apple keys at rest (JWE `dir` + `A256GCM`). */
  providerSecretKey: Uint8Array;
};

const LABELS = {
  refreshMac: "tessera/v1/refresh-token-mac",
  keyEncryption: "tessera/v1/signing-key-encryption",
  emailCode: "tessera/v1/email-code-mac",
  webhookSigning: "tessera/v1/email-webhook-signature",
  formCsrf: "tessera/v1/form-csrf",
  providerSecret: "tessera/v1/provider-secret-encryption",
} as const;

const encoder = new TextEncoder();

/**
 * Derives the sub-keys from `TESSERA_SECRET` with HKDF-SHA256 (RFC 5869), one distinct
 * `info` label per purpose, so no key is ever used for two things.
 */
export async function deriveKeys(secret: string): Promise<DerivedKeys> {
  const ikm = base64url.decode(secret);
  if (ikm.byteLength < 32) throw new Error("TESSERA_SECRET must hold at least 32 bytes");
  const master = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const derive = async (label: string) =>
    new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode(label) },
        master,
        256,
      ),
    );
  return {
    refreshMacKey: await derive(LABELS.refreshMac),
    keyEncryptionKey: await derive(LABELS.keyEncryption),
    emailCodeKey: await derive(LABELS.emailCode),
    webhookSigningKey: await derive(LABELS.webhookSigning),
    formCsrfKey: await derive(LABELS.formCsrf),
    providerSecretKey: await derive(LABELS.providerSecret),
  };
}
