import { CompactEncrypt, compactDecrypt } from "jose";

/** Seals a provider's client secret or Apple key PEM as a compact JWE (`dir`, `A256GCM`). */
export async function sealProviderSecret(
  secret: string,
  input: { name: string; secretKey: Uint8Array },
): Promise<string> {
  return (
    new CompactEncrypt(new TextEncoder().encode(secret))
      // The provider's name is in the protected header, so it is authenticated: a sealed
      // secret copied to another provider's row does not open there.
      .setProtectedHeader({ alg: "dir", enc: "A256GCM", kid: `provider:${input.name}` })
      .encrypt(input.secretKey)
  );
}

/** Opens a sealed secret of provider `name`. Throws if the key or the name does not fit. */
export async function openProviderSecret(
  jwe: string,
  input: { name: string; secretKey: Uint8Array },
): Promise<string> {
  const { plaintext, protectedHeader } = await compactDecrypt(jwe, input.secretKey, {
    keyManagementAlgorithms: ["dir"],
    contentEncryptionAlgorithms: ["A256GCM"],
  });
  if (protectedHeader.kid !== `provider:${input.name}`) {
    throw new Error("The sealed secret belongs to another provider");
  }
  return new TextDecoder().decode(plaintext);
}
