/**
 * A real OpenID Provider for the social sign-in tests: `oidc-provider` (panva) on a loopback
 * port, with discovery, JWKS, the code flow with PKCE (required), `nonce`, RFC 9207 `iss` in
 * the authorization response, and its own development sign-in and consent pages
 * (devInteractions: any login and password; the login is the account id, i.e. the `sub`).
 *
 * Accounts carry `email`, `email_verified` and `name` (scopes `email`, `profile`), set per test
 * with `setAccount` (or over the control API, `POST /_test/accounts`, from inside workerd); a
 * login nobody set gets `<login>@op.example`, verified, when the login has no `@`, else the
 * login itself as the address. The ID token carries the claims of the granted scopes
 * (`conformIdTokenClaims: false`, as Google and Microsoft do).
 *
 * `mountPath` serves it under a path (the issuer is then `${origin}${mountPath}`); with
 * `tenantId` it is Microsoft-shaped: mounted at `/<tenantId>/v2.0`, ID tokens carry `tid`, and
 * `/{common,organizations,consumers}/v2.0/.well-known/openid-configuration` answer the tenant's
 * metadata with the issuer template `${origin}/{tenantid}/v2.0`, as
 * login.microsoftonline.com does.
 *
 * The private signing JWK is exported so tests can mint the id_tokens a native SDK would get
 * (`mintIdToken`: `iss` = the issuer, `aud` = a client id, plus what the test passes), and the
 * forgeries a verifier must refuse (signed with another key, or unsigned).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { base64url, type JWTPayload } from "jose";
import Provider, { type ClientMetadata } from "oidc-provider";
import { controlJson, listen, sendJson } from "./http-server.ts";
import { generateSigningJwk, publicJwk, type SigningJwk, signIdToken } from "./id-token.ts";
import type { OpAccount, OpClientInfo, OpEventInfo, RecordedRequest } from "./protocol.ts";

export type OpClient = OpClientInfo & {
  redirectUris: string[];
  /** Default `client_secret_basic`. */
  tokenEndpointAuthMethod?: "client_secret_basic" | "client_secret_post";
};

/** What the OP saw of each authorization request and token request (from its events). */
export type OpEvent = OpEventInfo;

export type RunningOp = {
  issuer: string;
  origin: string;
  privateJwk: SigningJwk;
  publicJwk: ReturnType<typeof publicJwk>;
  requests: RecordedRequest[];
  events: OpEvent[];
  setAccount(login: string, account: OpAccount): void;
  /**
   * An id_token as this OP would sign it for `aud` (default: the first client). `iat` defaults
   * to `now` and `exp` to `iat` + 10 minutes. For forgeries: `jwk` signs with another key (its
   * own `kid`), `unsigned` gives `alg: "none"` and an empty signature; `header` adds to the
   * protected header (e.g. this OP's `kid` on an unsigned token).
   */
  mintIdToken(
    claims: JWTPayload & Record<string, unknown>,
    options?: {
      now?: number;
      jwk?: SigningJwk;
      unsigned?: boolean;
      header?: Record<string, unknown>;
    },
  ): Promise<string>;
  close(): Promise<void>;
};

const TENANT_ALIASES = ["common", "organizations", "consumers"];

/** An unsecured JWT (`alg: "none"`, empty signature), `iat`/`exp` defaulted as signIdToken does. */
function unsignedIdToken(
  claims: JWTPayload & Record<string, unknown>,
  options: { now?: number; header?: Record<string, unknown> },
): string {
  const iat = claims.iat ?? Math.floor((options.now ?? Date.now()) / 1000);
  const part = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${part({ alg: "none", ...options.header })}.${part({ ...claims, iat, exp: claims.exp ?? iat + 600 })}.`;
}

export async function startOidcOp(options: {
  clients: OpClient[];
  accounts?: Record<string, OpAccount>;
  mountPath?: string;
  tenantId?: string;
  host?: string;
  hostname?: string;
}): Promise<RunningOp> {
  const accounts = new Map(Object.entries(options.accounts ?? {}));
  const mountPath = options.tenantId ? `/${options.tenantId}/v2.0` : (options.mountPath ?? "");
  const privateJwk = await generateSigningJwk("RS256");
  const events: OpEvent[] = [];
  let callback: ((req: IncomingMessage, res: ServerResponse) => unknown) | undefined;

  const listening = await listen(
    async (req, res, url) => {
      // Microsoft's multi-tenant discovery: the tenant's metadata with the issuer template.
      const alias = TENANT_ALIASES.find(
        (t) => url.pathname === `/${t}/v2.0/.well-known/openid-configuration`,
      );
      if (options.tenantId && alias) {
        const own = await fetch(`${issuer}/.well-known/openid-configuration`);
        const metadata = (await own.json()) as Record<string, unknown>;
        return sendJson(res, 200, {
          ...metadata,
          issuer: `${listening.origin}/{tenantid}/v2.0`,
        });
      }
      if (!callback || !url.pathname.startsWith(`${mountPath}/`)) {
        return sendJson(res, 404, { error: "not_found" });
      }
      if (mountPath) {
        // As a framework mounts it: the provider reads its mount path from originalUrl.
        (req as IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
        req.url = (req.url ?? "/").slice(mountPath.length) || "/";
      }
      await callback(req, res);
    },
    {
      host: options.host,
      hostname: options.hostname,
      // oidc-provider reads bodies itself.
      passthrough: (url) => !url.pathname.startsWith("/_test/"),
      control: (req, res, url, body) => {
        if (req.method === "POST" && url.pathname === "/_test/accounts") {
          const { login, ...account } = controlJson<OpAccount & { login: string }>(body);
          accounts.set(login, account);
          res.writeHead(204).end();
          return true;
        }
        if (req.method === "GET" && url.pathname === "/_test/events") {
          sendJson(res, 200, { events });
          return true;
        }
        return false;
      },
    },
  );
  const issuer = `${listening.origin}${mountPath}`;

  const clients: ClientMetadata[] = options.clients.map((c) => ({
    client_id: c.clientId,
    client_secret: c.clientSecret,
    redirect_uris: c.redirectUris,
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: c.tokenEndpointAuthMethod ?? "client_secret_basic",
  }));

  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [privateJwk] },
    cookies: { keys: [crypto.randomUUID()] },
    features: {
      devInteractions: { enabled: true },
      // Only what the tests use.
      revocation: { enabled: false },
      introspection: { enabled: false },
    },
    pkce: { required: () => true },
    claims: {
      openid: options.tenantId ? ["sub", "tid"] : ["sub"],
      email: ["email", "email_verified"],
      profile: ["name"],
    },
    conformIdTokenClaims: false,
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    async findAccount(_ctx, id) {
      const set = accounts.get(id);
      const account: OpAccount = set ?? {
        email: id.includes("@") ? id : `${id}@op.example`,
        email_verified: true,
        name: `OP user ${id}`,
      };
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            ...(account.email ? { email: account.email } : {}),
            ...(account.email_verified !== undefined
              ? { email_verified: account.email_verified }
              : {}),
            ...(account.name ? { name: account.name } : {}),
            ...(options.tenantId ? { tid: options.tenantId } : {}),
          };
        },
      };
    },
  });
  // Quiet: no unhandled error output from expected refusals; they are recorded instead.
  const params = (ctx: { oidc?: { params?: Record<string, unknown> } }) =>
    Object.fromEntries(
      Object.entries(ctx.oidc?.params ?? {}).flatMap(([k, v]) =>
        v === undefined ? [] : [[k, String(v)]],
      ),
    );
  provider.on("authorization.accepted", (ctx) => {
    events.push({ type: "authorization", params: params(ctx) });
  });
  provider.on("grant.success", (ctx) => {
    const client = ctx.oidc.client;
    events.push({
      type: "token",
      clientId: client?.clientId ?? "",
      authMethod: client?.clientAuthMethod ?? "",
      params: params(ctx),
    });
  });
  const onError =
    (event: string) =>
    (_ctx: unknown, error: { error?: string; error_description?: string; message?: string }) => {
      events.push({
        type: "error",
        event,
        error: error.error ?? error.message ?? "unknown",
        ...(error.error_description ? { description: error.error_description } : {}),
      });
    };
  provider.on("authorization.error", onError("authorization.error"));
  provider.on("grant.error", onError("grant.error"));
  provider.on("server_error", onError("server_error"));
  callback = provider.callback();

  const firstClient = options.clients[0]?.clientId ?? "";
  return {
    issuer,
    origin: listening.origin,
    privateJwk,
    publicJwk: publicJwk(privateJwk),
    requests: listening.requests,
    events,
    setAccount: (login, account) => {
      accounts.set(login, account);
    },
    mintIdToken: async (claims, mintOptions = {}) => {
      const { jwk = privateJwk, unsigned, ...options } = mintOptions;
      const full = { iss: issuer, aud: firstClient, ...claims };
      return unsigned ? unsignedIdToken(full, options) : signIdToken(jwk, full, options);
    },
    close: listening.close,
  };
}
