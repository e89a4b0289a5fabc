/**
 * What tests know about the upstream servers (tests/upstream/*.ts), as plain JSON so the
 * workers project can hand it into workerd (`provide`/`inject`), and the control calls a test
 * makes to them over HTTP (fetch only: runs on Node and inside workerd).
 */
import type { SigningJwk } from "./id-token.ts";

/** One request an upstream server received (bodies parsed; only a few headers kept). */
export type RecordedRequest = {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: Record<string, string>;
};

/** A client registered at the OP (oidc-provider) when it starts. */
export type OpClientInfo = { clientId: string; clientSecret: string };

/** An OP account: the login typed on the OP's dev sign-in page is the `sub`. */
export type OpAccount = {
  email?: string | null;
  email_verified?: boolean;
  name?: string;
};

export type OpInfo = {
  /** The OP's issuer (discovery at `${issuer}/.well-known/openid-configuration`). */
  issuer: string;
  /** The origin of its control API (`/_test/…`). */
  control: string;
  /** The OP's signing key (RS256), so tests can mint the id_tokens a native SDK would get. */
  privateJwk: SigningJwk;
  /** Clients registered at start, redirect URIs `${tesseraIssuer}/oauth/callback/<name>` for every name in UPSTREAM_NAMES. */
  client: OpClientInfo;
  /** A second client id of the same OP (e.g. an Android app next to the web client). */
  otherClient: OpClientInfo;
};

/** A Microsoft-shaped OP: the tenant's OP under `/<tenant>/v2.0`, and `/common/v2.0` discovery with the `{tenantid}` template. */
export type MicrosoftInfo = OpInfo & {
  tenantId: string;
  /** `${origin}/common/v2.0`: what `--issuer` names for the `common` tenant. */
  commonIssuer: string;
};

export type AppleUser = {
  sub?: string;
  email: string;
  email_verified?: boolean;
  is_private_email?: boolean;
  firstName?: string;
  lastName?: string;
};

export type AppleInfo = {
  /** Stands for `https://appleid.apple.com`; the `aud` of the client-secret JWT. */
  issuer: string;
  control: string;
  teamId: string;
  keyId: string;
  /** The services id (web) the browser leg uses. */
  clientId: string;
  /** The app's bundle id: the `aud` of tokens the iOS SDK gets. */
  bundleId: string;
  /** The developer's key (AuthKey_<keyId>.p8), PKCS#8 PEM, as Apple hands it out. */
  privateKeyPem: string;
  /** The server's own id_token signing key (RS256), to mint native-SDK tokens. */
  signingJwk: SigningJwk;
};

export type GithubUser = {
  login: string;
  id?: number;
  name?: string | null;
  emails?: Array<{ email: string; primary: boolean; verified: boolean }>;
};

export type GithubInfo = {
  /** The web origin (`https://github.com`). */
  issuer: string;
  /** The API base (`https://api.github.com`): `${origin}/api`. */
  apiUrl: string;
  control: string;
  client: OpClientInfo;
};

export type UpstreamsInfo = {
  /** The Tessera issuer the redirect URIs were registered for. */
  tesseraIssuer: string;
  op: OpInfo;
  microsoft: MicrosoftInfo;
  apple: AppleInfo;
  github: GithubInfo;
};

/** Provider names the upstream clients have redirect URIs for (`/oauth/callback/<name>`). */
export const UPSTREAM_NAMES = [
  "oidc",
  "acme",
  "google",
  "microsoft",
  "apple",
  "github",
  "other",
] as const;

async function call<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`upstream control: ${init?.method ?? "GET"} ${url} → ${res.status}`);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

const post = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

/** The requests a server received since `forgetRequests` (or its start). */
export const receivedRequests = async (control: string) =>
  (await call<{ requests: RecordedRequest[] }>(`${control}/_test/requests`)).requests;

export const forgetRequests = (control: string) =>
  call<void>(`${control}/_test/requests`, { method: "DELETE" });

/** Sets the OP account whose login (= `sub`) is `login`. */
export const setOpAccount = (control: string, login: string, account: OpAccount) =>
  call<void>(`${control}/_test/accounts`, post({ login, ...account }));

/** Adds or replaces an Apple ID the Apple-like server signs in (by email). */
export const setAppleUser = (control: string, user: AppleUser) =>
  call<{ sub: string }>(`${control}/_test/users`, post(user));

/** Adds or replaces a GitHub user (by login). */
export const setGithubUser = (control: string, user: GithubUser) =>
  call<{ id: number }>(`${control}/_test/users`, post(user));

/** What the OP saw (tests/upstream/oidc-op.ts OpEvent): authorization and token requests, errors. */
export type OpEventInfo =
  | { type: "authorization"; params: Record<string, string> }
  | { type: "token"; clientId: string; authMethod: string; params: Record<string, string> }
  | { type: "error"; event: string; error: string; description?: string };

export const opEvents = async (control: string) =>
  (await call<{ events: OpEventInfo[] }>(`${control}/_test/events`)).events;

/** The Apple-like server's token requests: the decoded client-secret JWT and any refusal. */
export type AppleTokenRequestInfo = {
  clientId: string;
  clientSecretHeader?: Record<string, unknown>;
  clientSecretClaims?: Record<string, unknown>;
  refused?: string;
};

export const appleTokenRequests = async (control: string) =>
  (await call<{ tokenRequests: AppleTokenRequestInfo[] }>(`${control}/_test/token-requests`))
    .tokenRequests;
