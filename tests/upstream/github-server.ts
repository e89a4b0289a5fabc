/**
 * A local stand-in for GitHub's OAuth app endpoints and the two API calls a sign-in needs
 * (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps),
 * checking what a client sends as GitHub does:
 *
 * - `GET /login/oauth/authorize` (`client_id`, `redirect_uri` under the registered callback,
 *   `scope`, `state`, PKCE optional): a page with a "Username" field and an "Authorize"
 *   button; its POST 302s to `redirect_uri` with `code` and `state`.
 * - `POST /login/oauth/access_token` (`client_id` + `client_secret` in the body or Basic;
 *   `code` single use, 10 minutes; `redirect_uri` the authorization's; `code_verifier`
 *   against the `code_challenge` when one was sent): JSON when `Accept: application/json`,
 *   else form-encoded, as GitHub answers; errors too are 200 with `error` (GitHub's
 *   `incorrect_client_credentials`, `bad_verification_code`, `redirect_uri_mismatch`).
 * - `GET /api/user`, `GET /api/user/emails` (the API base is `${origin}/api`): `Authorization:
 *   Bearer <token>` (or `token <token>`) checked (401 otherwise), a `User-Agent` header
 *   required (403 without, as GitHub does); `/user/emails` needs the `user:email` scope (404
 *   without).
 *
 * Users are set per test (`setUser`, or `POST /_test/users`), each with its emails (primary
 * verified or not); a login nobody set gets `<login>@users.github.example`, primary and
 * verified. Every request is recorded.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  controlJson,
  escapeHtml,
  hiddenInputs,
  listen,
  sendHtml,
  sendJson,
} from "./http-server.ts";
import type { GithubUser, OpClientInfo, RecordedRequest } from "./protocol.ts";

export type RunningGithub = {
  /** The web origin (stands for https://github.com). */
  issuer: string;
  /** `${origin}/api` (stands for https://api.github.com). */
  apiUrl: string;
  origin: string;
  requests: RecordedRequest[];
  setUser(user: GithubUser): number;
  close(): Promise<void>;
};

type Code = {
  clientId: string;
  redirectUri: string | undefined;
  login: string;
  scope: string;
  challenge?: string;
  expiresAt: number;
};

export async function startGithubServer(options: {
  clients: Array<OpClientInfo & { callbackUrls: string[] }>;
  host?: string;
  hostname?: string;
}): Promise<RunningGithub> {
  const clients = new Map(options.clients.map((c) => [c.clientId, c]));
  const users = new Map<string, Required<GithubUser>>();
  const codes = new Map<string, Code>();
  const tokens = new Map<string, { login: string; scope: string }>();
  let nextId = 1000;

  const setUser = (user: GithubUser): number => {
    const id = user.id ?? users.get(user.login)?.id ?? nextId++;
    users.set(user.login, {
      login: user.login,
      id,
      name: user.name === undefined ? `GitHub user ${user.login}` : user.name,
      emails: user.emails ?? [
        { email: `${user.login}@users.github.example`, primary: true, verified: true },
      ],
    });
    return id;
  };

  /** GitHub's rule: the redirect URI's host and port match the callback's, its path is under it. */
  const redirectAllowed = (client: { callbackUrls: string[] }, uri: string | undefined) =>
    uri === undefined ||
    client.callbackUrls.some((cb) => {
      const a = new URL(cb);
      const b = new URL(uri);
      return (
        a.origin === b.origin &&
        (b.pathname === a.pathname || b.pathname.startsWith(`${a.pathname}/`))
      );
    });

  const tokenAnswer = (
    res: Parameters<typeof sendJson>[0],
    accept: string | undefined,
    body: Record<string, string>,
  ) => {
    if (accept?.includes("application/json")) return sendJson(res, 200, body);
    res.writeHead(200, { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" });
    res.end(new URLSearchParams(body).toString());
  };

  const listening = await listen(
    async (req, res, url, recorded) => {
      if (url.pathname === "/login/oauth/authorize") {
        const params =
          req.method === "POST" ? new URLSearchParams(recorded.body) : url.searchParams;
        const client = clients.get(params.get("client_id") ?? "");
        if (!client) return sendHtml(res, 404, "Not Found", "<p>Unknown client_id.</p>");
        const redirectUri = params.get("redirect_uri") ?? undefined;
        if (!redirectAllowed(client, redirectUri)) {
          return sendHtml(
            res,
            400,
            "Redirect URI mismatch",
            "<p>The redirect_uri is not associated with this application.</p>",
          );
        }
        if (params.has("code_challenge") && params.get("code_challenge_method") !== "S256") {
          return sendHtml(res, 400, "Bad request", "<p>code_challenge_method must be S256.</p>");
        }
        if (req.method === "GET") {
          return sendHtml(
            res,
            200,
            "Authorize application",
            `<p>${escapeHtml(client.clientId)} wants to access your account (${escapeHtml(params.get("scope") ?? "")}).</p>` +
              `<form method="post" action="/login/oauth/authorize">${hiddenInputs(Object.fromEntries(params))}` +
              `<label>Username <input type="text" name="login" autocomplete="username" required></label>` +
              `<button type="submit">Authorize</button></form>`,
          );
        }
        const login = params.get("login") ?? "";
        if (!login) return sendHtml(res, 400, "Bad request", "<p>No username.</p>");
        if (!users.has(login)) setUser({ login });
        const code = randomBytes(10).toString("hex");
        codes.set(code, {
          clientId: client.clientId,
          redirectUri,
          login,
          scope: params.get("scope") ?? "",
          ...(params.has("code_challenge")
            ? { challenge: params.get("code_challenge") as string }
            : {}),
          expiresAt: Date.now() + 10 * 60_000,
        });
        const back = new URL(redirectUri ?? client.callbackUrls[0] ?? "");
        back.searchParams.set("code", code);
        if (params.has("state")) back.searchParams.set("state", params.get("state") as string);
        res.writeHead(302, { Location: back.toString() });
        return res.end();
      }
      if (req.method === "POST" && url.pathname === "/login/oauth/access_token") {
        const body = { ...recorded.body };
        const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
        if (basic) {
          const [id = "", secret = ""] = Buffer.from(basic, "base64").toString().split(":");
          body.client_id = decodeURIComponent(id);
          body.client_secret = decodeURIComponent(secret);
        }
        const accept = req.headers.accept;
        const client = clients.get(body.client_id ?? "");
        if (!client || client.clientSecret !== body.client_secret) {
          return tokenAnswer(res, accept, {
            error: "incorrect_client_credentials",
            error_description: "The client_id and/or client_secret passed are incorrect.",
          });
        }
        const code = codes.get(body.code ?? "");
        codes.delete(body.code ?? "");
        if (!code || code.expiresAt < Date.now() || code.clientId !== client.clientId) {
          return tokenAnswer(res, accept, {
            error: "bad_verification_code",
            error_description: "The code passed is incorrect or expired.",
          });
        }
        if (code.redirectUri !== undefined && body.redirect_uri !== code.redirectUri) {
          return tokenAnswer(res, accept, {
            error: "redirect_uri_mismatch",
            error_description:
              "The redirect_uri MUST match the registered callback URL for this application.",
          });
        }
        if (code.challenge) {
          const expected = createHash("sha256")
            .update(body.code_verifier ?? "")
            .digest("base64url");
          if (expected !== code.challenge) {
            return tokenAnswer(res, accept, {
              error: "invalid_grant",
              error_description: "The code_verifier does not match the code_challenge.",
            });
          }
        }
        const token = `gho_${randomBytes(18).toString("base64url")}`;
        const scope = code.scope.split(/[ ,]+/).filter(Boolean).join(",");
        tokens.set(token, { login: code.login, scope });
        return tokenAnswer(res, accept, { access_token: token, token_type: "bearer", scope });
      }
      if (url.pathname === "/api/user" || url.pathname === "/api/user/emails") {
        if (!req.headers["user-agent"]) {
          return sendJson(res, 403, {
            message:
              "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
          });
        }
        const token = /^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
        const grant = tokens.get(token ?? "");
        const user = grant && users.get(grant.login);
        if (!grant || !user) {
          return sendJson(res, 401, {
            message: "Bad credentials",
            documentation_url: "https://docs.github.com/rest",
          });
        }
        const scopes = grant.scope.split(",");
        if (url.pathname === "/api/user") {
          return sendJson(
            res,
            200,
            {
              login: user.login,
              id: user.id,
              node_id: `U_${user.id}`,
              type: "User",
              name: user.name,
              // The public email, which may be none; the primary address comes from /user/emails.
              email: null,
              html_url: `${listening.origin}/${user.login}`,
            },
            { "X-OAuth-Scopes": grant.scope },
          );
        }
        if (!scopes.includes("user:email") && !scopes.includes("user")) {
          return sendJson(res, 404, { message: "Not Found" });
        }
        return sendJson(
          res,
          200,
          user.emails.map((e) => ({ ...e, visibility: e.primary ? "private" : null })),
          { "X-OAuth-Scopes": grant.scope },
        );
      }
      sendJson(res, 404, { message: "Not Found" });
    },
    {
      host: options.host,
      hostname: options.hostname,
      control: (req, res, url, body) => {
        if (req.method === "POST" && url.pathname === "/_test/users") {
          sendJson(res, 200, { id: setUser(controlJson<GithubUser>(body)) });
          return true;
        }
        return false;
      },
    },
  );

  return {
    issuer: listening.origin,
    apiUrl: `${listening.origin}/api`,
    origin: listening.origin,
    requests: listening.requests,
    setUser,
    close: listening.close,
  };
}
