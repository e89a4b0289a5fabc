/**
 * A relying party as a native or desktop app would be one (RFC 8252): a `node:http` server on
 * `127.0.0.1` and an ephemeral port, doing the authorization-code flow against Tessera with
 * nothing but `fetch` and jose:
 *
 * - `GET /login[?prompt=…]`: a PKCE verifier and its S256 challenge, `state` and `nonce`, kept
 *   server-side under a random `tx` cookie; 302 to Tessera's `/oauth/authorize`.
 * - `GET /cb`: `state` must be the transaction's and `iss` the issuer (RFC 9207); an `error` is
 *   shown as "Sign-in failed: <error>"; a `code` is exchanged at `/oauth/token` (public client:
 *   `client_id` and `code_verifier`), the ID token verified with jose against the issuer's JWKS
 *   (RS256, `iss`, `aud`, `nonce`), and the page says "Signed in as <email>".
 * - `GET /logout`: 302 to Tessera's `/oauth/logout` with `id_token_hint`,
 *   `post_logout_redirect_uri` (`/bye`) and a fresh `state`; `GET /bye` checks that `state`.
 *
 * Every check that fails answers 400 "App error: …" and is recorded in `problems`, so a test
 * can assert there were none. Its pages load nothing (no favicon request either).
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";

export type LoopbackApp = {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  /** The app's display name (the client's `--name`). */
  name: string;
  /** Set once the client is registered (the registration needs the port for `/bye`). */
  clientId: string;
  /** The redirect URI the app sends: `http://127.0.0.1:<port>/cb`. */
  redirectUri: string;
  postLogoutRedirectUri: string;
  /** Each `/cb` and `/bye` the app answered, in order. */
  visits: Visit[];
  /** Checks that failed (wrong state, iss, nonce, signature, token error…). */
  problems: string[];
  close(): Promise<void>;
};

export type Visit =
  | { path: "/cb"; code: boolean; error?: string; email?: string; claims?: JWTPayload }
  | { path: "/bye"; state: string };

type Transaction = { state: string; nonce: string; verifier: string };

const b64url = (bytes: Buffer) => bytes.toString("base64url");
const random = () => b64url(randomBytes(32));

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function page(res: ServerResponse, status: number, title: string, body: string): void {
  res.writeHead(status, {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
  });
  res.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
      `<link rel="icon" href="data:,"></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
  );
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return undefined;
}

export async function startLoopbackApp(options: {
  issuer: string;
  name: string;
  scope?: string;
}): Promise<LoopbackApp> {
  const { issuer, name } = options;
  const scope = options.scope ?? "openid email";
  const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
  const transactions = new Map<string, Transaction>();
  /** App sessions: cookie `sid` → the ID token (for `id_token_hint`) and the address. */
  const sessions = new Map<string, { idToken: string; email: string }>();
  const logouts = new Map<string, string>();

  const app: LoopbackApp = {
    origin: "",
    name,
    clientId: "",
    redirectUri: "",
    postLogoutRedirectUri: "",
    visits: [],
    problems: [],
    close: async () => {},
  };

  const fail = (res: ServerResponse, problem: string) => {
    app.problems.push(problem);
    page(res, 400, "App error", `<p>App error: ${escapeHtml(problem)}</p>`);
  };

  async function callback(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const tx = transactions.get(cookie(req, "tx") ?? "");
    const q = url.searchParams;
    if (!tx) return fail(res, "no transaction for this browser");
    if (q.get("state") !== tx.state) return fail(res, `state ${q.get("state")} is not ours`);
    if (q.get("iss") !== issuer) return fail(res, `iss ${q.get("iss")} is not ${issuer}`);
    transactions.delete(cookie(req, "tx") ?? "");
    const error = q.get("error");
    if (error) {
      app.visits.push({ path: "/cb", code: q.has("code"), error });
      return page(res, 200, `Sign-in failed: ${error}`, `<p>${escapeHtml(error)}</p>`);
    }
    const code = q.get("code");
    if (!code) return fail(res, "neither code nor error");
    const tokenRes = await fetch(`${issuer}/oauth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        redirect_uri: app.redirectUri,
        code_verifier: tx.verifier,
        client_id: app.clientId,
      }),
    });
    const tokens = (await tokenRes.json()) as { id_token?: string; error?: string };
    if (!tokenRes.ok || !tokens.id_token) {
      return fail(res, `token endpoint ${tokenRes.status}: ${JSON.stringify(tokens)}`);
    }
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(tokens.id_token, jwks, {
        issuer,
        audience: app.clientId,
        algorithms: ["RS256"],
      }));
    } catch (e) {
      return fail(res, `id_token: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (claims.nonce !== tx.nonce) return fail(res, `nonce ${String(claims.nonce)} is not ours`);
    const email = String(claims.email);
    const sid = random();
    sessions.set(sid, { idToken: tokens.id_token, email });
    app.visits.push({ path: "/cb", code: true, email, claims });
    res.setHeader("Set-Cookie", `sid=${sid}; Path=/; HttpOnly; SameSite=Lax`);
    page(res, 200, name, `<p>Signed in as ${escapeHtml(email)}</p><a href="/logout">Sign out</a>`);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", app.origin);
    const handle = async () => {
      if (url.pathname === "/login") {
        const txId = random();
        const tx: Transaction = { state: random(), nonce: random(), verifier: random() };
        transactions.set(txId, tx);
        const authorize = new URL(`${issuer}/oauth/authorize`);
        authorize.search = new URLSearchParams({
          response_type: "code",
          client_id: app.clientId,
          redirect_uri: app.redirectUri,
          scope,
          state: tx.state,
          nonce: tx.nonce,
          code_challenge: b64url(createHash("sha256").update(tx.verifier).digest()),
          code_challenge_method: "S256",
          ...Object.fromEntries(
            ["prompt", "max_age"].flatMap((p) => {
              const v = url.searchParams.get(p);
              return v === null ? [] : [[p, v]];
            }),
          ),
        }).toString();
        res.writeHead(302, {
          Location: authorize.toString(),
          "Set-Cookie": `tx=${txId}; Path=/; HttpOnly; SameSite=Lax`,
        });
        return res.end();
      }
      if (url.pathname === "/cb") return callback(req, res, url);
      if (url.pathname === "/logout") {
        const session = sessions.get(cookie(req, "sid") ?? "");
        if (!session) return fail(res, "/logout without an app session");
        const state = random();
        logouts.set(state, cookie(req, "sid") ?? "");
        const logout = new URL(`${issuer}/oauth/logout`);
        logout.search = new URLSearchParams({
          id_token_hint: session.idToken,
          post_logout_redirect_uri: app.postLogoutRedirectUri,
          state,
        }).toString();
        res.writeHead(302, { Location: logout.toString() });
        return res.end();
      }
      if (url.pathname === "/bye") {
        const state = url.searchParams.get("state") ?? "";
        const sid = logouts.get(state);
        if (sid === undefined) return fail(res, `logout state ${state} is not ours`);
        logouts.delete(state);
        sessions.delete(sid);
        app.visits.push({ path: "/bye", state });
        res.setHeader("Set-Cookie", "sid=; Path=/; Max-Age=0");
        return page(res, 200, `Signed out of ${name}`, "<p>You are signed out.</p>");
      }
      page(res, 404, "Not found", "");
    };
    handle().catch((e: unknown) =>
      fail(res, e instanceof Error ? (e.stack ?? e.message) : String(e)),
    );
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  app.origin = `http://127.0.0.1:${port}`;
  app.redirectUri = `${app.origin}/cb`;
  app.postLogoutRedirectUri = `${app.origin}/bye`;
  app.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return app;
}
