import type { Database } from "../db/types.ts";
import { InvalidClient, InvalidInput } from "../errors.ts";
import { digestsEqual } from "../lib/digests-equal.ts";
import { type Client, FIRST_PARTY_CLIENT, hashClientSecret } from "./client.ts";
import { findClient } from "./client-store.ts";

/** The client behind a request to `/oauth/*`, and whether it proved who it is. */
export type ClientIdentity = {
  client: Client;
  authenticated: boolean;
  /** True when the request named no client and the first-party client was assumed. */
  assumed: boolean;
};

// RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
const formDecode = (value: string) => decodeURIComponent(value.replaceAll("+", " "));

function parseBasic(header: string): { clientId: string; clientSecret: string } {
  const match = /^Basic\s+([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  if (!match) throw new InvalidClient("Malformed Basic credentials");
  try {
    const decoded = new TextDecoder().decode(
      Uint8Array.from(atob(match[1] as string), (ch) => ch.charCodeAt(0)),
    );
    const colon = decoded.indexOf(":");
    if (colon < 1) throw new Error("no colon");
    return {
      clientId: formDecode(decoded.slice(0, colon)),
      clientSecret: formDecode(decoded.slice(colon + 1)),
    };
  } catch {
    throw new InvalidClient("Malformed Basic credentials");
  }
}

async function secretMatches(client: Client, secret: string): Promise<boolean> {
  if (!client.secretHash) return false;
  return digestsEqual(client.secretHash, await hashClientSecret(secret));
}

/**
 * Identifies the client of an `/oauth/*` request (RFC 6749 §2.3): `client_secret_basic`,
 * `client_secret_post`, a public client's bare `client_id`, or — with nothing at all — the
 * built-in first-party public client. More than one method, an unknown client, a wrong
 * secret, or a confidential client without its secret is {@link InvalidClient}; two
 * methods at once is {@link InvalidInput}.
 */
export async function authenticateClient(
  db: Database,
  authorization: string | undefined,
  params: { client_id?: string | undefined; client_secret?: string | undefined },
): Promise<ClientIdentity> {
  const basic = authorization && /^Basic\s/i.test(authorization.trim());
  let clientId = params.client_id;
  let secret = params.client_secret;
  if (basic) {
    // §2.3: "The client MUST NOT use more than one authentication method in each request."
    if (secret !== undefined) {
      throw new InvalidInput("client_secret", "Use one client authentication method, not two");
    }
    const credentials = parseBasic(authorization);
    if (clientId !== undefined && clientId !== credentials.clientId) {
      throw new InvalidClient("client_id does not match the Basic credentials");
    }
    clientId = credentials.clientId;
    secret = credentials.clientSecret;
  }
  if (clientId === undefined) {
    if (secret !== undefined) throw new InvalidClient("client_secret without client_id");
    return { client: FIRST_PARTY_CLIENT, authenticated: false, assumed: true };
  }
  const client = await findClient(db, clientId);
  if (!client) throw new InvalidClient();
  if (secret === undefined) {
    if (client.confidential) throw new InvalidClient("This client must authenticate");
    return { client, authenticated: false, assumed: false };
  }
  if (!(await secretMatches(client, secret))) throw new InvalidClient();
  return { client, authenticated: true, assumed: false };
}
