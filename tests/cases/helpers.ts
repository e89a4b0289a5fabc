import { createLocalJWKSet, type JWTPayload, jwtVerify } from "jose";
import type { Harness } from "../harness/types.ts";

let counter = 0;
/** A unique email per call, so cases never collide inside one database. */
export const uniqueEmail = (label = "user") =>
  `${label}.${Date.now().toString(36)}.${(counter++).toString(36)}@example.com`;

export const PASSWORD = "correct horse battery staple";

export const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/json", ...headers },
  body: JSON.stringify(body),
});

export const form = (params: Record<string, string>): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(params).toString(),
});

export const bearer = (token: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), Authorization: `Bearer ${token}` },
});

export type TokenBody = {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  refresh_token_expires_in: number;
  user?: { id: string; email: string; created_at: string };
};

/** `client_secret_basic` credentials (RFC 6749 §2.3.1: form-encoded, then Basic). */
export const basic = (id: string, secret: string) =>
  `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`;

/** Signs up a new user and returns the token response. */
export async function signup(h: Harness, email = uniqueEmail(), password = PASSWORD) {
  const res = await h.request("/v1/signup", json({ email, password }));
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${await res.text()}`);
  return { email, password, tokens: (await res.json()) as TokenBody };
}

/** Logs in and returns the token response. */
export async function login(h: Harness, email: string, password = PASSWORD) {
  const res = await h.request("/v1/login", json({ email, password }));
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as TokenBody;
}

/** `POST /oauth/token` with `grant_type=refresh_token`, form-encoded like an OAuth client. */
export const refresh = (h: Harness, refreshToken: string, extra: Record<string, string> = {}) =>
  h.request(
    "/oauth/token",
    form({ grant_type: "refresh_token", refresh_token: refreshToken, ...extra }),
  );

/** Verifies an access token the way another service does: JWKS from the endpoint, jose. */
export async function verifyWithJwks(h: Harness, token: string, at = h.clock.now()) {
  const jwks = await (await h.request("/.well-known/jwks.json")).json();
  const { payload, protectedHeader } = await jwtVerify<
    JWTPayload & { sid: string; client_id: string }
  >(token, createLocalJWKSet(jwks as { keys: [] }), {
    issuer: h.config.issuer,
    audience: h.config.accessTokenAudience,
    typ: "at+jwt",
    currentDate: new Date(at),
  });
  return { payload, protectedHeader };
}

/** Reads an error response and checks it has the documented shape. */
export async function errorOf(res: Response) {
  const body = (await res.json()) as { error: string; error_description: string };
  return { status: res.status, ...body };
}

/** Lets an awaited driver call and its callers' continuations run. */
export async function settle() {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * A schedule the test runs by hand (group commit, batched user reads), so what goes in one
 * batch is certain.
 */
export function manualSchedule() {
  const due: Array<() => void> = [];
  return {
    schedule: (run: () => void) => {
      due.push(run);
    },
    due: () => due.length,
    /** Runs the oldest due batch without waiting for it. */
    runNext: () => due.shift()?.(),
    /** Runs every due batch, then lets their queries and callers settle. */
    runDue: async () => {
      for (const run of due.splice(0)) run();
      await settle();
    },
  };
}
