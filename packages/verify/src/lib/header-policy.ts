import type { CompactJWSHeaderParameters } from "jose";
import { TesseraVerifyError } from "../errors.ts";

/**
 * Header parameters that point at, or carry, a key (RFC 7515 §4.1.2–§4.1.6). Honouring one
 * would let the token choose the key it is checked with (RFC 8725 §3.10), so their mere
 * presence refuses the token and nothing they name is ever fetched. Tessera never sets them.
 */
export const KEY_REFERENCE_HEADERS = ["jku", "jwk", "x5u", "x5c"] as const;

/**
 * Refuses headers a Tessera access token never has. Runs inside jose's key resolver, i.e.
 * after jose checked `alg` against the allow-list and before any key is looked up.
 * `crit` (RFC 7515 §4.1.11) lists extensions the recipient MUST understand; this verifier
 * understands none, so any `crit` is refused.
 */
export function checkHeader(header: CompactJWSHeaderParameters): void {
  for (const name of KEY_REFERENCE_HEADERS) {
    if (Object.hasOwn(header, name)) {
      throw new TesseraVerifyError(
        "unsupported_header",
        `The token header carries "${name}", which is never accepted`,
      );
    }
  }
  if (Object.hasOwn(header, "crit")) {
    throw new TesseraVerifyError("unsupported_header", 'The token header has a "crit" extension');
  }
}
