import { importPKCS8, SignJWT } from "jose";
import type { UpstreamProvider } from "./provider.ts";

/** Lifetime of a minted client secret: Apple allows up to six months; one request needs minutes. */
const CLIENT_SECRET_TTL_S = 300;

/** Imports Apple's `AuthKey_<key id>.p8` (PKCS#8 PEM, EC P-256) for ES256. Throws if it is not one. */
export async function importApplePrivateKey(pem: string): Promise<CryptoKey> {
  return importPKCS8(pem.trim(), "ES256");
}

/**
 * Apple's client secret: an ES256 JWT signed with the provider's key (header `kid` = key id;
 * `iss` = team id, `sub` = services id, `aud` = the issuer, 5 minutes), minted per token request.
 */
export async function appleClientSecret(
  provider: Pick<UpstreamProvider, "issuer" | "clientIds" | "teamId" | "keyId">,
  input: { privateKeyPem: string; now: number },
): Promise<string> {
  const { teamId, keyId } = provider;
  const clientId = provider.clientIds[0];
  if (!teamId || !keyId || !clientId)
    throw new Error("The apple provider lacks team id, key id or client id");
  const iat = Math.floor(input.now / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: keyId })
    .setIssuer(teamId)
    .setSubject(clientId)
    .setAudience(provider.issuer)
    .setIssuedAt(iat)
    .setExpirationTime(iat + CLIENT_SECRET_TTL_S)
    .sign(await importApplePrivateKey(input.privateKeyPem));
}
