import { asc, eq } from "drizzle-orm";
import { clients } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { randomId, randomSecret } from "../lib/random-id.ts";
import {
  type Client,
  clientFromRow,
  FIRST_PARTY_CLIENT,
  FIRST_PARTY_CLIENT_ID,
  hashClientSecret,
} from "./client.ts";

/** What an operator gives to register a client. */
export type NewClient = {
  name: string;
  grantTypes: readonly string[];
  scopes?: readonly string[];
  redirectUris?: readonly string[];
  postLogoutRedirectUris?: readonly string[];
  /** Public clients (native apps, SPAs) get no secret. */
  public?: boolean;
  /** Skips the consent page. */
  firstParty?: boolean;
  idTokenSignedResponseAlg?: string | null;
  accessTokenTtl?: number | null;
  refreshTokenTtl?: number | null;
};

/**
 * Registers a client. Returns its id and, for confidential clients, the secret: 256 random
 * bits, shown this once and stored only as a digest.
 */
export async function createClient(
  db: Database,
  input: NewClient,
  now: number,
): Promise<{ client: Client; clientSecret: string | undefined }> {
  const clientSecret = input.public ? undefined : randomSecret();
  const [row] = await db
    .insert(clients)
    .values({
      clientId: randomId(),
      name: input.name,
      secretHash: clientSecret === undefined ? null : await hashClientSecret(clientSecret),
      grantTypes: JSON.stringify([...new Set(input.grantTypes)]),
      redirectUris: JSON.stringify([...new Set(input.redirectUris ?? [])]),
      postLogoutRedirectUris: JSON.stringify([...new Set(input.postLogoutRedirectUris ?? [])]),
      scopes: [...new Set(input.scopes ?? [])].join(" "),
      firstParty: input.firstParty ?? false,
      idTokenSignedResponseAlg: input.idTokenSignedResponseAlg ?? null,
      accessTokenTtl: input.accessTokenTtl ?? null,
      refreshTokenTtl: input.refreshTokenTtl ?? null,
      createdAt: now,
    })
    .returning();
  if (!row) throw new Error("client insert returned no row");
  return { client: clientFromRow(row), clientSecret };
}

/** The client with this id (the built-in first-party client included), if any. */
export async function findClient(db: Database, clientId: string): Promise<Client | undefined> {
  if (clientId === FIRST_PARTY_CLIENT_ID) return FIRST_PARTY_CLIENT;
  const [row] = await db.select().from(clients).where(eq(clients.clientId, clientId)).limit(1);
  return row ? clientFromRow(row) : undefined;
}

/** Every registered client, oldest first (without the built-in first-party client). */
export async function listClients(db: Database): Promise<Client[]> {
  const rows = await db.select().from(clients).orderBy(asc(clients.createdAt));
  return rows.map(clientFromRow);
}

/** Deletes a client; returns whether it existed. Its tokens stop introspecting as active. */
export async function deleteClient(db: Database, clientId: string): Promise<boolean> {
  const rows = await db
    .delete(clients)
    .where(eq(clients.clientId, clientId))
    .returning({ clientId: clients.clientId });
  return rows.length > 0;
}
