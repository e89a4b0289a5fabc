import { base64url } from "jose";
import { encodeBase64url } from "../lib/base64url.ts";

/** scrypt cost parameters: N = 2^ln. */
export type ScryptParams = { ln: number; r: number; p: number };

/** A parsed `$scrypt$ln=…,r=…,p=…$<salt>$<hash>` PHC string. */
export type ScryptPhc = { params: ScryptParams; salt: Uint8Array; hash: Uint8Array };

// PHC string format (github.com/P-H-C/phc-string-format): salt and hash in unpadded
// base64; we write the URL-safe alphabet, which is what jose's codec gives, and read both.
const PHC =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/_-]{16,})\$([A-Za-z0-9+/_-]{32,})$/;

const toUrlSafe = (b64: string) => b64.replaceAll("+", "-").replaceAll("/", "_");

/** Serialises an scrypt hash as a PHC string. */
export function formatScryptPhc({ params, salt, hash }: ScryptPhc): string {
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${encodeBase64url(salt)}$${encodeBase64url(hash)}`;
}

/** Parses a PHC string written by {@link formatScryptPhc}; undefined when it is not one. */
export function parseScryptPhc(phc: string): ScryptPhc | undefined {
  const m = PHC.exec(phc);
  if (!m) return undefined;
  const [, ln, r, p, salt, hash] = m as unknown as [string, string, string, string, string, string];
  try {
    return {
      params: { ln: Number(ln), r: Number(r), p: Number(p) },
      salt: base64url.decode(toUrlSafe(salt)),
      hash: base64url.decode(toUrlSafe(hash)),
    };
  } catch {
    return undefined;
  }
}
