/**
 * A local stand-in for Sign in with Apple's documented web endpoints
 * (https://developer.apple.com/documentation/signinwithapplerestapi), checking what a client
 * sends as Apple does:
 *
 * - `GET /auth/authorize` (`client_id` = a services id, `redirect_uri` registered for it,
 *   `response_type=code`, `scope` ⊆ `openid name email`, `response_mode=form_post` — required, as
 *   Apple requires it when scopes are asked for; `state`, `nonce`, PKCE optional): a page with
 *   an "Apple ID" field and a "Continue" button (the person signing in). Its POST answers the
 *   form-post page: a form to `redirect_uri` with `code`, `state` and — on the first
 *   authorization of that user for that client only — `user`, the JSON
 *   `{"name":{"firstName","lastName"},"email"}`; the form submits itself (script), with a
 *   visible "Continue" button too.
 * - `POST /auth/token` (`client_secret_post`): `client_secret` must be an ES256 JWT verified
 *   with the developer key's public half: header `kid` = the key id, `iss` = the team id,
 *   `sub` = `client_id`, `aud` = this server's issuer, `iat`/`exp` current (`exp` at most 6
 *   months out); then `code` (single use, 5 minutes), `redirect_uri`, and `code_verifier`
 *   against the `code_challenge` when one was sent. Answer: `access_token`, `token_type`,
 *   `expires_in`, `refresh_token`, `id_token` (RS256, this server's key: `iss`, `aud` =
 *   client id, `sub`, `nonce` echoed, `email`, `email_verified` as the string `"true"`,
 *   `is_private_email` as a string, `auth_time`, `nonce_supported`). Errors are Apple's:
 *   400 `invalid_client` / `invalid_grant` / `invalid_request`.
 * - `GET /auth/keys`: the JWKS. `GET /.well-known/openid-configuration` too.
 *
 * The developer key (AuthKey_<keyId>.p8, PKCS#8 PEM) is generated here and written to a
 * temp file for the CLI; its public half verifies client secrets. Every request is recorded,
 * with the decoded client-secret JWT of each token request and why one was refused.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  type JWK,
  jwtVerify,
} from "jose";
import {
  controlJson,
  escapeHtml,
  hiddenInputs,
  listen,
  sendHtml,
  sendJson,
} from "./http-server.ts";
import { generateSigningJwk, publicJwk, type SigningJwk, signIdToken } from "./id-token.ts";
import type { AppleTokenRequestInfo, AppleUser, RecordedRequest } from "./protocol.ts";

/** A token request: the decoded client-secret JWT (when it decoded) and why it was refused (absent: tokens issued). */
export type AppleTokenRequest = AppleTokenRequestInfo;

export type RunningApple = {
  issuer: string;
  origin: string;
  teamId: string;
  keyId: string;
  clientId: string;
  bundleId: string;
  privateKeyPem: string;
  /** The .p8 file, for `--private-key-file`. */
  privateKeyFile: string;
  /** The developer key's public half (what Apple keeps to verify client secrets). */
  developerPublicJwk: JWK;
  signingJwk: SigningJwk;
  requests: RecordedRequest[];
  tokenRequests: AppleTokenRequest[];
  setUser(user: AppleUser): string;
  mintIdToken(claims: Record<string, unknown>, options?: { now?: number }): Promise<string>;
  close(): Promise<void>;
};

type Code = {
  clientId: string;
  redirectUri: string;
  sub: string;
  nonce?: string;
  challenge?: string;
  expiresAt: number;
};

const SCOPES = new Set(["name", "email"]);

export async function startAppleServer(options: {
  /** Services ids and the redirect URIs registered for each. */
  clients: Array<{ clientId: string; redirectUris: string[] }>;
  bundleId?: string;
  teamId?: string;
  keyId?: string;
  host?: string;
  hostname?: string;
}): Promise<RunningApple> {
  const teamId = options.teamId ?? "TEAM123456";
  const keyId = options.keyId ?? "KEY1234567";
  const bundleId = options.bundleId ?? "com.example.app";
  const developer = await generateKeyPair("ES256", { extractable: true });
  const privateKeyPem = await exportPKCS8(developer.privateKey);
  const developerPublicJwk = await exportJWK(developer.publicKey);
  const dir = await mkdtemp(join(tmpdir(), "tessera-apple-"));
  const privateKeyFile = join(dir, `AuthKey_${keyId}.p8`);
  await writeFile(privateKeyFile, privateKeyPem, { mode: 0o600 });
  const signingJwk = await generateSigningJwk("RS256");

  const clients = new Map(options.clients.map((c) => [c.clientId, c.redirectUris]));
  /** Apple IDs by email. */
  const users = new Map<string, Required<Omit<AppleUser, "firstName" | "lastName">> & AppleUser>();
  /** `${clientId} ${sub}` of users who authorized a client already (no `user` field again). */
  const authorized = new Set<string>();
  const codes = new Map<string, Code>();
  const tokenRequests: AppleTokenRequest[] = [];

  const setUser = (user: AppleUser) => {
    const sub =
      user.sub ??
      users.get(user.email)?.sub ??
      `000${createHash("sha256").update(user.email).digest("hex").slice(0, 12)}.${randomBytes(8).toString("hex")}.0420`;
    users.set(user.email, {
      sub,
      email: user.email,
      email_verified: user.email_verified ?? true,
      is_private_email: user.is_private_email ?? false,
      firstName: user.firstName ?? "Ada",
      lastName: user.lastName ?? "Lovelace",
    });
    return sub;
  };

  let issuer = "";
  const fail = (
    res: Parameters<typeof sendJson>[0],
    error: string,
    refused: string,
    record?: AppleTokenRequest,
  ) => {
    if (record) record.refused = refused;
    sendJson(res, 400, { error, error_description: refused });
  };

  const authorizePage = (params: URLSearchParams, problem?: string) =>
    `${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ""}` +
    `<p>Sign in to ${escapeHtml(params.get("client_id") ?? "")} with your Apple ID.</p>` +
    `<form method="post" action="/auth/authorize">${hiddenInputs(Object.fromEntries(params))}` +
    `<label>Apple ID <input type="email" name="account" autocomplete="username" required></label>` +
    `<button type="submit">Continue</button></form>`;

  /** The checks Apple makes on the authorization request; the problem, if any. */
  const checkAuthorize = (params: URLSearchParams): string | undefined => {
    const clientId = params.get("client_id") ?? "";
    const redirectUris = clients.get(clientId);
    if (!redirectUris) return "invalid_client";
    if (!redirectUris.includes(params.get("redirect_uri") ?? ""))
      return "invalid_request: redirect_uri";
    if (params.get("response_type") !== "code") return "unsupported_response_type";
    const scopes = (params.get("scope") ?? "").split(" ").filter(Boolean);
    if (scopes.some((s) => !SCOPES.has(s) && s !== "openid")) return "invalid_scope";
    if (scopes.length > 0 && params.get("response_mode") !== "form_post") {
      return "invalid_request: response_mode must be form_post when scopes are requested";
    }
    if (params.has("code_challenge") && params.get("code_challenge_method") !== "S256") {
      return "invalid_request: code_challenge_method";
    }
    return undefined;
  };

  const listening = await listen(
    async (req, res, url, recorded) => {
      if (req.method === "GET" && url.pathname === "/auth/authorize") {
        const problem = checkAuthorize(url.searchParams);
        if (problem) return sendHtml(res, 400, "Invalid request", `<p>${escapeHtml(problem)}</p>`);
        return sendHtml(res, 200, "Sign in with Apple", authorizePage(url.searchParams));
      }
      if (req.method === "POST" && url.pathname === "/auth/authorize") {
        const { account = "", ...fields } = recorded.body;
        const params = new URLSearchParams(fields);
        const problem = checkAuthorize(params);
        if (problem) return sendHtml(res, 400, "Invalid request", `<p>${escapeHtml(problem)}</p>`);
        if (!account) {
          return sendHtml(
            res,
            200,
            "Sign in with Apple",
            authorizePage(params, "Enter your Apple ID."),
          );
        }
        if (!users.has(account)) setUser({ email: account });
        const user = users.get(account) as NonNullable<ReturnType<typeof users.get>>;
        const clientId = params.get("client_id") as string;
        const code = `c${randomBytes(24).toString("hex")}.0.a.${randomBytes(8).toString("hex")}`;
        codes.set(code, {
          clientId,
          redirectUri: params.get("redirect_uri") as string,
          sub: user.sub,
          ...(params.has("nonce") ? { nonce: params.get("nonce") as string } : {}),
          ...(params.has("code_challenge")
            ? { challenge: params.get("code_challenge") as string }
            : {}),
          expiresAt: Date.now() + 5 * 60_000,
        });
        const post: Record<string, string> = { code };
        if (params.has("state")) post.state = params.get("state") as string;
        const scopes = (params.get("scope") ?? "").split(" ");
        const first = !authorized.has(`${clientId} ${user.sub}`);
        authorized.add(`${clientId} ${user.sub}`);
        if (first && scopes.some((s) => SCOPES.has(s))) {
          post.user = JSON.stringify({
            ...(scopes.includes("name")
              ? { name: { firstName: user.firstName, lastName: user.lastName } }
              : {}),
            ...(scopes.includes("email") ? { email: user.email } : {}),
          });
        }
        return sendHtml(
          res,
          200,
          "Continue to the app",
          `<form method="post" action="${escapeHtml(params.get("redirect_uri") as string)}">` +
            `${hiddenInputs(post)}<button type="submit">Continue</button></form>` +
            "<script>document.forms[0].submit()</script>",
        );
      }
      if (req.method === "POST" && url.pathname === "/auth/token") {
        const body = recorded.body;
        const record: AppleTokenRequest = { clientId: body.client_id ?? "" };
        tokenRequests.push(record);
        if (req.headers.authorization) {
          return fail(res, "invalid_client", "client_secret_basic is not supported", record);
        }
        if (body.grant_type !== "authorization_code") {
          return fail(res, "unsupported_grant_type", `grant_type ${body.grant_type}`, record);
        }
        const secret = body.client_secret ?? "";
        try {
          record.clientSecretHeader = decodeProtectedHeader(secret) as Record<string, unknown>;
          record.clientSecretClaims = decodeJwt(secret) as Record<string, unknown>;
        } catch {
          return fail(res, "invalid_client", "client_secret is not a JWT", record);
        }
        if (!clients.has(record.clientId)) {
          return fail(res, "invalid_client", `unknown client_id ${record.clientId}`, record);
        }
        try {
          const { payload, protectedHeader } = await jwtVerify(secret, developer.publicKey, {
            algorithms: ["ES256"],
            issuer: teamId,
            subject: record.clientId,
            audience: issuer,
            requiredClaims: ["iat", "exp"],
          });
          if (protectedHeader.kid !== keyId) throw new Error(`kid ${protectedHeader.kid}`);
          if ((payload.exp as number) - Math.floor(Date.now() / 1000) > 15_777_000) {
            throw new Error("exp more than 6 months out");
          }
        } catch (error) {
          return fail(
            res,
            "invalid_client",
            `client_secret: ${error instanceof Error ? error.message : String(error)}`,
            record,
          );
        }
        const code = codes.get(body.code ?? "");
        codes.delete(body.code ?? "");
        if (!code || code.expiresAt < Date.now() || code.clientId !== record.clientId) {
          return fail(
            res,
            "invalid_grant",
            "code unknown, used, expired or another client's",
            record,
          );
        }
        if (body.redirect_uri !== code.redirectUri) {
          return fail(
            res,
            "invalid_grant",
            "redirect_uri differs from the authorization request's",
            record,
          );
        }
        if (code.challenge) {
          const verifier = body.code_verifier ?? "";
          const expected = createHash("sha256").update(verifier).digest("base64url");
          if (expected !== code.challenge) {
            return fail(
              res,
              "invalid_grant",
              "code_verifier does not match code_challenge",
              record,
            );
          }
        } else if (body.code_verifier) {
          return fail(res, "invalid_grant", "code_verifier without a code_challenge", record);
        }
        const user = [...users.values()].find((u) => u.sub === code.sub);
        if (!user) return fail(res, "invalid_grant", "user gone", record);
        const now = Math.floor(Date.now() / 1000);
        const idToken = await signIdToken(signingJwk, {
          iss: issuer,
          aud: record.clientId,
          sub: user.sub,
          iat: now,
          exp: now + 600,
          ...(code.nonce ? { nonce: code.nonce, nonce_supported: true } : {}),
          email: user.email,
          email_verified: user.email_verified ? "true" : "false",
          is_private_email: user.is_private_email ? "true" : "false",
          auth_time: now,
        });
        return sendJson(res, 200, {
          access_token: `a${randomBytes(16).toString("hex")}.0.a.${randomBytes(8).toString("hex")}`,
          token_type: "Bearer",
          expires_in: 3600,
          refresh_token: `r${randomBytes(16).toString("hex")}.0.a.${randomBytes(8).toString("hex")}`,
          id_token: idToken,
        });
      }
      if (req.method === "GET" && url.pathname === "/auth/keys") {
        return sendJson(res, 200, { keys: [publicJwk(signingJwk)] });
      }
      if (req.method === "GET" && url.pathname === "/.well-known/openid-configuration") {
        return sendJson(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/auth/authorize`,
          token_endpoint: `${issuer}/auth/token`,
          revocation_endpoint: `${issuer}/auth/revoke`,
          jwks_uri: `${issuer}/auth/keys`,
          response_types_supported: ["code"],
          response_modes_supported: ["query", "fragment", "form_post"],
          subject_types_supported: ["pairwise"],
          id_token_signing_alg_values_supported: ["RS256"],
          scopes_supported: ["openid", "email", "name"],
          token_endpoint_auth_methods_supported: ["client_secret_post"],
          claims_supported: [
            "aud",
            "email",
            "email_verified",
            "exp",
            "iat",
            "is_private_email",
            "iss",
            "nonce",
            "nonce_supported",
            "real_user_status",
            "sub",
            "transfer_sub",
          ],
        });
      }
      sendJson(res, 404, { error: "not_found" });
    },
    {
      host: options.host,
      hostname: options.hostname,
      control: (req, res, url, body) => {
        if (req.method === "POST" && url.pathname === "/_test/users") {
          sendJson(res, 200, { sub: setUser(controlJson<AppleUser>(body)) });
          return true;
        }
        if (req.method === "GET" && url.pathname === "/_test/token-requests") {
          sendJson(res, 200, { tokenRequests });
          return true;
        }
        return false;
      },
    },
  );
  issuer = listening.origin;

  return {
    issuer,
    origin: listening.origin,
    teamId,
    keyId,
    clientId: options.clients[0]?.clientId ?? "",
    bundleId,
    privateKeyPem,
    privateKeyFile,
    developerPublicJwk,
    signingJwk,
    requests: listening.requests,
    tokenRequests,
    setUser,
    mintIdToken: (claims, mintOptions) =>
      signIdToken(
        signingJwk,
        {
          iss: issuer,
          aud: bundleId,
          email_verified: "true",
          is_private_email: "false",
          nonce_supported: true,
          ...claims,
        },
        mintOptions,
      ),
    close: async () => {
      await listening.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
