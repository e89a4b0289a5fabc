import { PROVIDER_KINDS, type ProviderKind } from "../db/schema.ts";

export { PROVIDER_KINDS, type ProviderKind };

/** A provider's name: a slug, part of its callback URL. */
export const PROVIDER_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** An upstream identity provider as configured (docs/design/upstream.md#providers); never its secret. */
export type UpstreamProvider = {
  name: string;
  kind: ProviderKind;
  /** "Continue with <displayName>". */
  displayName: string;
  issuer: string;
  /** The first is the browser leg's client id; all are accepted as an exchanged id_token's `aud`. */
  clientIds: string[];
  scopes: string[];
  /** GitHub: the REST API origin. */
  apiUrl: string | null;
  /** Microsoft: `common`, `organizations`, `consumers` or a tenant id. */
  tenant: string | null;
  /** Apple: team id. */
  teamId: string | null;
  /** Apple: key id. */
  keyId: string | null;
  /** Has a client secret / Apple key: the browser leg is available. */
  browserLeg: boolean;
  createdAt: number;
};

/** The kinds' own names, shown on the sign-in page ("Continue with Google"). */
export const KIND_DISPLAY_NAMES: Record<Exclude<ProviderKind, "oidc">, string> = {
  google: "Google",
  apple: "Apple",
  github: "GitHub",
  microsoft: "Microsoft",
};

/** Scopes asked for in the browser leg unless configured otherwise. */
export const DEFAULT_SCOPES: Record<ProviderKind, string[]> = {
  oidc: ["openid", "email", "profile"],
  google: ["openid", "email", "profile"],
  microsoft: ["openid", "email", "profile"],
  github: ["read:user", "user:email"],
  apple: ["name", "email"],
};

/** Microsoft tenants whose tokens carry the signing-in user's own tenant in `iss` (`tid`). */
export const MICROSOFT_MULTI_TENANTS = ["common", "organizations", "consumers"] as const;

/** The issuer of a kind when none is configured; undefined for `oidc` (required). */
export function defaultIssuer(kind: ProviderKind, tenant: string | null): string | undefined {
  switch (kind) {
    case "google":
      return "https://accounts.google.com";
    case "microsoft":
      return `https://login.microsoftonline.com/${tenant ?? "common"}/v2.0`;
    case "github":
      return "https://github.com";
    case "apple":
      return "https://appleid.apple.com";
    case "oidc":
      return undefined;
  }
}

/** GitHub's API origin for an issuer: api.github.com for github.com, else Enterprise's `/api/v3`. */
export function defaultGitHubApiUrl(issuer: string): string {
  return new URL(issuer).origin === "https://github.com"
    ? "https://api.github.com"
    : `${trimSlash(issuer)}/api/v3`;
}

/** Hosts for which plain http is allowed (tests, local development). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^127(?:\.\d{1,3}){3}$/.test(host);
}

const isLoopbackHttp = (url: URL) => url.protocol === "http:" && isLoopbackHost(url.hostname);

/**
 * Whether an endpoint of the provider at `issuer` (from its discovery document, or its API)
 * may be called: https; plain http only to a loopback host, and only for a provider that is
 * itself on plain-http loopback (tests, development). A public provider's metadata cannot
 * point Tessera at a plain-http service on its own host.
 */
export function isAllowedEndpoint(url: URL, issuer: string): boolean {
  return url.protocol === "https:" || (isLoopbackHttp(url) && isLoopbackHttp(new URL(issuer)));
}

/**
 * Whether `value` is usable as a provider issuer: an absolute https URL (http only for a
 * loopback host), without query or fragment.
 */
export function isValidIssuer(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    (url.protocol === "https:" || isLoopbackHttp(url)) &&
    url.search === "" &&
    url.hash === "" &&
    !url.username
  );
}

export const trimSlash = (url: string): string => url.replace(/\/+$/, "");

/** The redirect URI to register at the provider: `<ISSUER>/oauth/callback/<name>`. */
export function callbackUrl(issuer: string, name: string): string {
  return `${trimSlash(issuer)}/oauth/callback/${name}`;
}

/** Whether a Microsoft provider's tokens carry the user's tenant in `iss` (`{tenantid}` template). */
export function isMicrosoftMultiTenant(provider: Pick<UpstreamProvider, "kind" | "tenant">) {
  return (
    provider.kind === "microsoft" &&
    (MICROSOFT_MULTI_TENANTS as readonly string[]).includes(provider.tenant ?? "common")
  );
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Whether a token's `iss` names this provider, and for a multi-tenant Microsoft provider
 * which tenant it names. Google's tokens may say `accounts.google.com` without the scheme;
 * a multi-tenant Microsoft issuer `…/common/v2.0` stands for `…/<tid>/v2.0`
 * (the `{tenantid}` template its discovery document publishes).
 */
export function matchIssuer(
  provider: Pick<UpstreamProvider, "kind" | "tenant" | "issuer">,
  iss: string,
): { tenantId: string | null } | undefined {
  const issuer = trimSlash(provider.issuer);
  const candidate = trimSlash(iss);
  if (candidate === issuer) return { tenantId: null };
  if (provider.kind === "google" && issuer.startsWith("https://")) {
    if (candidate === issuer.slice("https://".length)) return { tenantId: null };
  }
  if (isMicrosoftMultiTenant(provider)) {
    const tenant = provider.tenant ?? "common";
    const marker = `/${tenant}/`;
    const at = `${issuer}/`.lastIndexOf(marker);
    if (at < 0) return undefined;
    const before = issuer.slice(0, at);
    const after = `${issuer}/`.slice(at + marker.length).replace(/\/$/, "");
    const pattern = new RegExp(
      `^${escapeRegExp(before)}/([^/]+)${after ? `/${escapeRegExp(after)}` : ""}$`,
    );
    const m = pattern.exec(candidate);
    if (m) return { tenantId: m[1] as string };
  }
  return undefined;
}
