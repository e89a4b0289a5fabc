/**
 * Operator CLI over the same code and environment as the server:
 *   npm run keys -- rotate | list [--json]
 *   npm run clients -- create --name <name> --grant-types a,b [--scopes "read write"]
 *                      [--public] [--first-party] [--redirect-uri <uri>]...
 *                      [--post-logout-redirect-uri <uri>]... [--id-token-alg EdDSA|ES256|RS256]
 *                      [--access-token-ttl <dur>] [--refresh-token-ttl <dur>] [--json]
 *   npm run clients -- list [--json]
 *   npm run clients -- delete <client_id>
 *   npm run providers -- add oidc|google|microsoft|github|apple [--name <slug>]
 *                      --client-id <id>... [--client-secret <s>] [--issuer <url>]
 *                      [--display-name <text>] [--scopes "a b"] [--api-url <url>] [--tenant <t>]
 *                      [--team-id <id> --key-id <id> --private-key-file <AuthKey.p8>] [--json]
 *   npm run providers -- list [--json]
 *   npm run providers -- delete <name>
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { bootstrap } from "./bootstrap.ts";
import { CLIENT_GRANT_TYPES, parseScopes } from "./clients/client.ts";
import { createClient, deleteClient, listClients } from "./clients/client-store.ts";
import { type Config, ConfigError, parseConfig, SIGNING_ALGS, type SigningAlg } from "./config.ts";
import { signingKeys } from "./db/schema.ts";
import type { Database } from "./db/types.ts";
import { InvalidInput, ProviderExists } from "./errors.ts";
import { ensureSigningKeys } from "./keys/ensure-signing-keys.ts";
import { createLogger } from "./lib/logger.ts";
import { openNodeRuntime } from "./node-runtime.ts";
import { isRegistrableRedirectUri } from "./oauth/redirect-uri.ts";
import { callbackUrl, PROVIDER_KINDS, type ProviderKind } from "./providers/provider.ts";
import { addProvider, deleteProvider, listProviders } from "./providers/provider-store.ts";
import { deriveKeys } from "./secrets/derive-keys.ts";

/** A usage mistake: printed as one line, exit code 2. */
class UsageError extends Error {}

const iso = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString());

/** Prints rows as aligned columns. */
function table(rows: Array<Record<string, string>>): string {
  if (rows.length === 0) return "(none)";
  const headers = Object.keys(rows[0] as object);
  const widths = headers.map((h) => Math.max(h.length, ...rows.map((r) => (r[h] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map((r) => line(headers.map((h) => r[h] ?? "")))].join("\n");
}

async function keysCommand(args: string[], config: Config, db: Database, secret: string) {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: "boolean", default: false } },
  });
  const [action] = positionals;
  if (action === "rotate") {
    const { rotateKeys } = await bootstrap({ config, db, secret, logger: createLogger("warn") });
    // Every algorithm with keys (SIGNING_ALG's first), each in its own batch.
    const rotations = await rotateKeys();
    if (values.json) console.log(JSON.stringify(rotations));
    else
      console.log(
        `${rotations
          .map(
            (r) =>
              `Rotated ${r.alg}: ${r.current} now signs; ${r.previous} is previous; ${r.next} is next.`,
          )
          .join("\n")}\nRunning servers pick up the new keys within 30 s.`,
      );
    return;
  }
  if (action === "list") {
    const rows = await db.select().from(signingKeys);
    const order = { current: 0, next: 1, previous: 2, retired: 3 } as const;
    rows.sort(
      (a, b) =>
        a.alg.localeCompare(b.alg) ||
        order[a.status] - order[b.status] ||
        b.createdAt - a.createdAt,
    );
    const view = rows.map((k) => ({
      kid: k.kid,
      alg: k.alg,
      status: k.status,
      created_at: iso(k.createdAt),
      activated_at: iso(k.activatedAt),
      deactivated_at: iso(k.deactivatedAt),
      retired_at: iso(k.retiredAt),
    }));
    console.log(values.json ? JSON.stringify(view, null, 2) : table(view));
    return;
  }
  throw new UsageError("usage: keys rotate | keys list [--json]");
}

async function clientsCommand(args: string[], db: Database, secret: string) {
  // `delete <client_id>`: the id (the argument that is not `--json`) is taken as written. Ids
  // minted before `randomId` skipped a leading `-` can start with one (or two), and parseArgs
  // would read `-Xb3…` as short flags.
  const idAt = args[0] === "delete" ? args.findIndex((a, i) => i > 0 && a !== "--json") : -1;
  const verbatimId = idAt > 0 && args[idAt] !== "--" ? (args[idAt] as string) : null;
  const { positionals, values } = parseArgs({
    args: verbatimId === null ? args : args.filter((_, i) => i !== idAt),
    allowPositionals: true,
    options: {
      name: { type: "string" },
      "grant-types": { type: "string" },
      scopes: { type: "string" },
      public: { type: "boolean", default: false },
      "first-party": { type: "boolean", default: false },
      "redirect-uri": { type: "string", multiple: true },
      "post-logout-redirect-uri": { type: "string", multiple: true },
      "id-token-alg": { type: "string" },
      "access-token-ttl": { type: "string" },
      "refresh-token-ttl": { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const [action, positionalId] = positionals;
  const id = verbatimId ?? positionalId;
  if (action === "create") {
    if (!values.name) throw new UsageError("clients create: --name is required");
    const grantTypes = (values["grant-types"] ?? "")
      .split(",")
      .map((g) => g.trim())
      .filter(Boolean);
    if (grantTypes.length === 0) throw new UsageError("clients create: --grant-types is required");
    const unknown = grantTypes.filter(
      (g) => !(CLIENT_GRANT_TYPES as readonly string[]).includes(g),
    );
    if (unknown.length > 0) {
      throw new UsageError(
        `clients create: unknown grant type ${unknown.join(", ")}; use ${CLIENT_GRANT_TYPES.join(", ")}`,
      );
    }
    if (values.public && grantTypes.includes("client_credentials")) {
      throw new UsageError("clients create: a --public client cannot use client_credentials");
    }
    for (const flag of ["redirect-uri", "post-logout-redirect-uri"] as const) {
      for (const uri of values[flag] ?? []) {
        if (!isRegistrableRedirectUri(uri)) {
          throw new UsageError(
            `clients create: invalid --${flag} ${uri} (https, http://127.0.0.1 or [::1], or a private-use scheme like com.example.app:/cb; no fragment)`,
          );
        }
      }
    }
    if (grantTypes.includes("authorization_code") && !values["redirect-uri"]?.length) {
      throw new UsageError("clients create: authorization_code needs at least one --redirect-uri");
    }
    const idTokenAlg = values["id-token-alg"];
    if (idTokenAlg !== undefined && !(SIGNING_ALGS as readonly string[]).includes(idTokenAlg)) {
      throw new UsageError(
        `clients create: --id-token-alg must be one of ${SIGNING_ALGS.join(", ")}`,
      );
    }
    let refreshTokenTtl: number | null = null;
    if (values["refresh-token-ttl"]) {
      refreshTokenTtl = parseConfig({ SESSION_MAX_AGE: values["refresh-token-ttl"] }).sessionMaxAge;
    }
    let accessTokenTtl: number | null = null;
    if (values["access-token-ttl"]) {
      accessTokenTtl = parseConfig({ ACCESS_TOKEN_TTL: values["access-token-ttl"] }).accessTokenTtl;
    }
    const { client, clientSecret } = await createClient(
      db,
      {
        name: values.name,
        grantTypes,
        scopes: parseScopes(values.scopes),
        redirectUris: values["redirect-uri"] ?? [],
        postLogoutRedirectUris: values["post-logout-redirect-uri"] ?? [],
        public: values.public,
        firstParty: values["first-party"],
        idTokenSignedResponseAlg: idTokenAlg ?? null,
        accessTokenTtl,
        refreshTokenTtl,
      },
      Date.now(),
    );
    if (idTokenAlg !== undefined) {
      // Its ID tokens need keys of that alg from now on (RS256 and SIGNING_ALG always exist).
      const { keyEncryptionKey } = await deriveKeys(secret);
      await ensureSigningKeys(db, {
        alg: idTokenAlg as SigningAlg,
        keyEncryptionKey,
        now: Date.now(),
      });
    }
    if (values.json) {
      const out: Record<string, string> = { client_id: client.clientId };
      if (clientSecret) out.client_secret = clientSecret;
      console.log(JSON.stringify(out));
    } else {
      console.log(`client_id:     ${client.clientId}`);
      if (clientSecret) {
        console.log(`client_secret: ${clientSecret}`);
        console.log("Store the secret now: it is not shown again.");
      } else {
        console.log("Public client: no secret.");
      }
    }
    return;
  }
  if (action === "list") {
    const view = (await listClients(db)).map((c) => ({
      client_id: c.clientId,
      name: c.name,
      type: c.confidential ? "confidential" : "public",
      grant_types: c.grantTypes.join(","),
      scopes: c.scopes.join(" "),
      redirect_uris: c.redirectUris.join(" "),
      post_logout_redirect_uris: c.postLogoutRedirectUris.join(" "),
      first_party: String(c.firstParty),
      id_token_alg: c.idTokenSignedResponseAlg,
      access_token_ttl: c.accessTokenTtl === null ? "-" : String(c.accessTokenTtl),
      refresh_token_ttl: c.refreshTokenTtl === null ? "-" : String(c.refreshTokenTtl),
      created_at: iso(c.createdAt),
    }));
    console.log(values.json ? JSON.stringify(view, null, 2) : table(view));
    return;
  }
  if (action === "delete") {
    if (!id) throw new UsageError("usage: clients delete <client_id>");
    if (!(await deleteClient(db, id))) throw new UsageError(`No client ${id}`);
    console.log(`Deleted client ${id}.`);
    return;
  }
  throw new UsageError("usage: clients create|list|delete (see README)");
}

const PROVIDERS_USAGE =
  "usage: providers add oidc|google|microsoft|github|apple [flags] | providers list [--json] | providers delete <name> (see README)";

/** Flags only some kinds take. */
const KIND_FLAGS: Record<string, ProviderKind[]> = {
  "api-url": ["github"],
  tenant: ["microsoft"],
  "team-id": ["apple"],
  "key-id": ["apple"],
  "private-key-file": ["apple"],
  "client-secret": ["oidc", "google", "microsoft", "github"],
};

async function providersCommand(args: string[], config: Config, db: Database, secret: string) {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      "client-id": { type: "string", multiple: true },
      "client-secret": { type: "string" },
      "display-name": { type: "string" },
      issuer: { type: "string" },
      "api-url": { type: "string" },
      tenant: { type: "string" },
      "team-id": { type: "string" },
      "key-id": { type: "string" },
      "private-key-file": { type: "string" },
      scopes: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const [action, arg, ...extra] = positionals;
  if (action === "add") {
    if (extra.length > 0) throw new UsageError(`providers add: unexpected argument ${extra[0]}`);
    if (!arg || !(PROVIDER_KINDS as readonly string[]).includes(arg)) {
      throw new UsageError(`providers add: the kind must be one of ${PROVIDER_KINDS.join(", ")}`);
    }
    const kind = arg as ProviderKind;
    for (const [flag, kinds] of Object.entries(KIND_FLAGS)) {
      if (values[flag as keyof typeof values] !== undefined && !kinds.includes(kind)) {
        throw new UsageError(`providers add: ${kind} does not take --${flag}`);
      }
    }
    if (!values["client-id"]?.length) {
      throw new UsageError("providers add: --client-id is required");
    }
    if (kind === "oidc" && values.issuer === undefined) {
      throw new UsageError("providers add: oidc needs --issuer");
    }
    let providerSecret = values["client-secret"];
    if (kind === "apple") {
      const given = [values["team-id"], values["key-id"], values["private-key-file"]];
      if (given.some((v) => v !== undefined) && given.some((v) => v === undefined)) {
        throw new UsageError(
          "providers add: apple's browser leg needs --team-id, --key-id and --private-key-file together",
        );
      }
      const file = values["private-key-file"];
      if (file !== undefined) {
        try {
          providerSecret = await readFile(file, "utf8");
        } catch {
          throw new UsageError(`providers add: cannot read --private-key-file ${file}`);
        }
      }
    }
    const { providerSecretKey } = await deriveKeys(secret);
    let provider: Awaited<ReturnType<typeof addProvider>>;
    try {
      provider = await addProvider(
        db,
        {
          kind,
          clientIds: values["client-id"],
          ...(values.name !== undefined && { name: values.name }),
          ...(values.issuer !== undefined && { issuer: values.issuer }),
          ...(values.scopes !== undefined && {
            scopes: values.scopes.split(/\s+/).filter(Boolean),
          }),
          ...(values["display-name"] !== undefined && { displayName: values["display-name"] }),
          ...(values["api-url"] !== undefined && { apiUrl: values["api-url"] }),
          ...(values.tenant !== undefined && { tenant: values.tenant }),
          ...(values["team-id"] !== undefined && { teamId: values["team-id"] }),
          ...(values["key-id"] !== undefined && { keyId: values["key-id"] }),
          ...(providerSecret !== undefined && { secret: providerSecret }),
        },
        { secretKey: providerSecretKey, now: Date.now() },
      );
    } catch (error) {
      if (error instanceof InvalidInput) {
        throw new UsageError(`providers add: --${error.field}: ${error.message}`);
      }
      if (error instanceof ProviderExists) {
        throw new Error(
          `A provider named ${error.providerName} already exists; delete it first or pick another --name`,
        );
      }
      throw error;
    }
    const callback = callbackUrl(config.issuer, provider.name);
    if (values.json) {
      console.log(
        JSON.stringify({ name: provider.name, kind: provider.kind, callback_url: callback }),
      );
    } else {
      console.log(`Added provider ${provider.name} (${provider.kind}), issuer ${provider.issuer}.`);
      if (provider.browserLeg) {
        console.log(`Register this redirect URI at the provider: ${callback}`);
      } else {
        console.log(
          'Native-only: no client secret or key, so no "Continue with" button; apps exchange its id_tokens.',
        );
      }
    }
    return;
  }
  if (action === "list") {
    const view = (await listProviders(db)).map((p) => ({
      name: p.name,
      kind: p.kind,
      display_name: p.displayName,
      issuer: p.issuer,
      client_ids: p.clientIds,
      scopes: p.scopes.join(" "),
      callback_url: callbackUrl(config.issuer, p.name),
      browser_leg: p.browserLeg,
      created_at: iso(p.createdAt),
    }));
    if (values.json) console.log(JSON.stringify(view, null, 2));
    else
      console.log(
        table(
          view.map((p) => ({
            ...p,
            client_ids: p.client_ids.join(" "),
            browser_leg: String(p.browser_leg),
          })),
        ),
      );
    return;
  }
  if (action === "delete") {
    if (!arg || extra.length > 0) throw new UsageError("usage: providers delete <name>");
    if (!(await deleteProvider(db, arg))) throw new UsageError(`No provider ${arg}`);
    console.log(`Deleted provider ${arg}. Identities linked through it are kept.`);
    return;
  }
  throw new UsageError(PROVIDERS_USAGE);
}

async function main() {
  const [group, ...rest] = process.argv.slice(2);
  if (group !== "keys" && group !== "clients" && group !== "providers") {
    throw new UsageError("usage: cli.js keys|clients|providers …");
  }
  const config = parseConfig(process.env);
  const { db, client, secret } = await openNodeRuntime(config);
  try {
    if (group === "keys") await keysCommand(rest, config, db, secret);
    else if (group === "providers") await providersCommand(rest, config, db, secret);
    else await clientsCommand(rest, db, secret);
  } finally {
    client.close();
  }
}

main().catch((error: unknown) => {
  // parseArgs: an unknown flag or a flag without its value is a usage mistake too.
  const argError = (error as { code?: unknown }).code;
  if (typeof argError === "string" && argError.startsWith("ERR_PARSE_ARGS_")) {
    console.error((error as Error).message);
    process.exit(2);
  }
  if (error instanceof UsageError || error instanceof ConfigError) {
    console.error(error.message);
    process.exit(error instanceof UsageError ? 2 : 1);
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`Error: ${message}`);
  process.exit(1);
});
