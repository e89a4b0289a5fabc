import { asc, eq } from "drizzle-orm";
import { isUniqueViolation } from "../db/errors.ts";
import { identityProviders } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { InvalidInput, ProviderExists } from "../errors.ts";
import { importApplePrivateKey } from "./apple-client-secret.ts";
import {
  DEFAULT_SCOPES,
  defaultGitHubApiUrl,
  defaultIssuer,
  isValidIssuer,
  KIND_DISPLAY_NAMES,
  matchIssuer,
  PROVIDER_KINDS,
  PROVIDER_NAME,
  type ProviderKind,
  trimSlash,
  type UpstreamProvider,
} from "./provider.ts";
import { openProviderSecret, sealProviderSecret } from "./provider-secret.ts";

type ProviderRow = typeof identityProviders.$inferSelect;

/** What `providers add` configures. */
export type NewProvider = {
  /** Default: the kind. */
  name?: string;
  kind: ProviderKind;
  issuer?: string;
  clientIds: string[];
  scopes?: string[];
  displayName?: string;
  apiUrl?: string;
  tenant?: string;
  teamId?: string;
  keyId?: string;
  /** The client secret, or Apple's PKCS#8 private key (PEM); none: native-only. */
  secret?: string;
};

const TENANT = /^[A-Za-z0-9][A-Za-z0-9.-]{0,99}$/;
/** Apple team and key ids (ten upper-case letters or digits at Apple; looser for test servers). */
const APPLE_ID = /^[A-Za-z0-9._-]{1,64}$/;

function toProvider(row: ProviderRow): UpstreamProvider {
  const kind = row.kind;
  return {
    name: row.name,
    kind,
    displayName: row.displayName ?? (kind === "oidc" ? row.name : KIND_DISPLAY_NAMES[kind]),
    issuer: row.issuer,
    clientIds: JSON.parse(row.clientIds) as string[],
    scopes: row.scopes.split(" ").filter(Boolean),
    apiUrl: row.apiUrl,
    tenant: row.tenant,
    teamId: row.teamId,
    keyId: row.keyId,
    browserLeg:
      row.secretJwe !== null && (kind !== "apple" || (row.teamId !== null && row.keyId !== null)),
    createdAt: row.createdAt,
  };
}

/**
 * Checks and completes `input` with the kind's defaults (issuer, scopes, GitHub's API URL,
 * Microsoft's tenant). Throws {@link InvalidInput} naming the flag at fault.
 */
async function resolveProvider(input: NewProvider) {
  const kind = input.kind;
  if (!(PROVIDER_KINDS as readonly string[]).includes(kind)) {
    throw new InvalidInput("kind", `Unknown provider kind; use ${PROVIDER_KINDS.join(", ")}`);
  }
  const name = input.name ?? kind;
  if (!PROVIDER_NAME.test(name)) {
    throw new InvalidInput(
      "name",
      "The name must be 1-32 lower-case letters, digits or hyphens, starting with a letter or digit",
    );
  }
  const clientIds = input.clientIds.map((id) => id.trim());
  if (clientIds.length === 0 || clientIds.some((id) => id === "")) {
    throw new InvalidInput("client-id", "At least one non-empty client id is required");
  }
  if (new Set(clientIds).size !== clientIds.length) {
    throw new InvalidInput("client-id", "A client id is listed twice");
  }
  let tenant: string | null = null;
  if (kind === "microsoft") {
    tenant = input.tenant ?? "common";
    if (!TENANT.test(tenant)) {
      throw new InvalidInput(
        "tenant",
        "The tenant must be common, organizations, consumers or a tenant id",
      );
    }
  } else if (input.tenant !== undefined) {
    throw new InvalidInput("tenant", "Only a microsoft provider takes a tenant");
  }
  const issuer = input.issuer ?? defaultIssuer(kind, tenant);
  if (issuer === undefined) throw new InvalidInput("issuer", "An oidc provider needs an issuer");
  if (!isValidIssuer(issuer)) {
    throw new InvalidInput(
      "issuer",
      "The issuer must be an absolute https URL (http only for localhost, 127.0.0.1 or [::1])",
    );
  }
  let apiUrl: string | null = null;
  if (kind === "github") {
    apiUrl = input.apiUrl ?? defaultGitHubApiUrl(issuer);
    if (!isValidIssuer(apiUrl)) {
      throw new InvalidInput(
        "api-url",
        "The API URL must be an absolute https URL (http only for localhost, 127.0.0.1 or [::1])",
      );
    }
  } else if (input.apiUrl !== undefined) {
    throw new InvalidInput("api-url", "Only a github provider takes an API URL");
  }
  let teamId: string | null = null;
  let keyId: string | null = null;
  if (kind === "apple") {
    teamId = input.teamId ?? null;
    keyId = input.keyId ?? null;
    const parts = [teamId, keyId, input.secret].filter((p) => p !== null && p !== undefined);
    if (parts.length > 0 && parts.length < 3) {
      throw new InvalidInput(
        teamId === null ? "team-id" : keyId === null ? "key-id" : "private-key-file",
        "An apple provider's browser leg needs --team-id, --key-id and --private-key-file together",
      );
    }
    if (teamId !== null && !APPLE_ID.test(teamId)) {
      throw new InvalidInput("team-id", "The team id is Apple's 10-character team id");
    }
    if (keyId !== null && !APPLE_ID.test(keyId)) {
      throw new InvalidInput("key-id", "The key id is Apple's 10-character key id");
    }
    if (input.secret !== undefined) {
      try {
        await importApplePrivateKey(input.secret);
      } catch {
        throw new InvalidInput(
          "private-key-file",
          "The private key must be a PKCS#8 PEM of an EC P-256 key (Apple's AuthKey_<key id>.p8)",
        );
      }
    }
  } else if (input.teamId !== undefined || input.keyId !== undefined) {
    throw new InvalidInput(
      input.teamId !== undefined ? "team-id" : "key-id",
      "Only an apple provider takes a team id and key id",
    );
  }
  if (input.secret !== undefined && input.secret.trim() === "") {
    throw new InvalidInput("client-secret", "The client secret is empty");
  }
  const scopes = input.scopes ?? DEFAULT_SCOPES[kind];
  if (scopes.some((s) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))) {
    throw new InvalidInput("scopes", "Scopes are space-separated tokens");
  }
  let displayName: string | null = null;
  if (input.displayName !== undefined) {
    displayName = input.displayName.trim();
    if (displayName === "" || displayName.length > 64) {
      throw new InvalidInput("display-name", "The display name must be 1-64 characters");
    }
  }
  return {
    name,
    kind,
    displayName,
    issuer: trimSlash(issuer),
    clientIds,
    scopes,
    apiUrl: apiUrl === null ? null : trimSlash(apiUrl),
    tenant,
    teamId,
    keyId,
  };
}

/**
 * Adds a provider (docs/design/upstream.md#providers); its secret is sealed under
 * `secretKey`. Throws {@link InvalidInput} for a bad value, {@link ProviderExists} for a
 * name already configured.
 */
export async function addProvider(
  db: Database,
  input: NewProvider,
  options: { secretKey: Uint8Array; now: number },
): Promise<UpstreamProvider> {
  const p = await resolveProvider(input);
  const secretJwe =
    input.secret === undefined
      ? null
      : await sealProviderSecret(input.secret, { name: p.name, secretKey: options.secretKey });
  try {
    const [row] = await db
      .insert(identityProviders)
      .values({
        name: p.name,
        kind: p.kind,
        displayName: p.displayName,
        issuer: p.issuer,
        clientIds: JSON.stringify(p.clientIds),
        scopes: p.scopes.join(" "),
        apiUrl: p.apiUrl,
        tenant: p.tenant,
        teamId: p.teamId,
        keyId: p.keyId,
        secretJwe,
        createdAt: options.now,
      })
      .returning();
    return toProvider(row as ProviderRow);
  } catch (error) {
    if (isUniqueViolation(error)) throw new ProviderExists(p.name);
    throw error;
  }
}

/** Every configured provider, by name. */
export async function listProviders(db: Database): Promise<UpstreamProvider[]> {
  const rows = await db.select().from(identityProviders).orderBy(asc(identityProviders.name));
  return rows.map(toProvider);
}

/** The provider called `name`, if configured. */
export async function findProvider(
  db: Database,
  name: string,
): Promise<UpstreamProvider | undefined> {
  const [row] = await db
    .select()
    .from(identityProviders)
    .where(eq(identityProviders.name, name))
    .limit(1);
  return row ? toProvider(row) : undefined;
}

/**
 * The providers whose tokens may carry `iss` (native exchange): the issuer itself, Google's
 * scheme-less `accounts.google.com`, a multi-tenant Microsoft issuer's `{tenantid}` form.
 */
export async function providersForIssuer(db: Database, iss: string): Promise<UpstreamProvider[]> {
  return (await listProviders(db)).filter((p) => matchIssuer(p, iss) !== undefined);
}

/** Deletes a provider; its identities stay (docs/design/upstream.md#providers). */
export async function deleteProvider(db: Database, name: string): Promise<boolean> {
  const rows = await db
    .delete(identityProviders)
    .where(eq(identityProviders.name, name))
    .returning({ name: identityProviders.name });
  return rows.length > 0;
}

/** The provider's client secret or Apple key PEM, decrypted; undefined: native-only. */
export async function providerSecret(
  db: Database,
  name: string,
  secretKey: Uint8Array,
): Promise<string | undefined> {
  const [row] = await db
    .select({ secretJwe: identityProviders.secretJwe })
    .from(identityProviders)
    .where(eq(identityProviders.name, name))
    .limit(1);
  if (!row?.secretJwe) return undefined;
  return openProviderSecret(row.secretJwe, { name, secretKey });
}
