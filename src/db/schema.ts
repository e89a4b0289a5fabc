import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** One schema for libSQL and D1. Times are integer milliseconds since the epoch. */

export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  /** Trimmed and lower-cased; the unique key for sign-in. */
  email: text("email").notNull().unique(),
  /**
   * PHC string, e.g. `$scrypt$ln=14,r=8,p=5$<salt>$<hash>`; `""` for an account without a
   * password (passwordless sign-up), which no password ever matches
   * (docs/design/storage.md#accounts-without-a-password).
   */
  passwordHash: text("password_hash").notNull(),
  /** When the address was proven (a link or code sent to it was used); null: never. */
  emailVerifiedAt: integer("email_verified_at"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** What an emailed link or code proves (docs/design/accounts.md#challenges). */
export const CHALLENGE_PURPOSES = [
  "verify_email",
  "reset_password",
  "otp",
  "change_email",
] as const;
export type ChallengePurpose = (typeof CHALLENGE_PURPOSES)[number];

/**
 * Emailed links and codes awaiting use. One row per (purpose, subject): a new send replaces the
 * previous one. Only digests are stored: SHA-256 of the link token, HMAC of the code. A row
 * is deleted when used, when its code is guessed wrong five times, or when it expires.
 */
export const emailChallenges = sqliteTable(
  "email_challenges",
  {
    id: text("id").primaryKey(),
    purpose: text("purpose", { enum: CHALLENGE_PURPOSES }).notNull(),
    /** What a new send replaces by: the address, or the user id for `change_email`. */
    subject: text("subject").notNull(),
    /** The address the message went to (the new address for `change_email`). */
    email: text("email").notNull(),
    /** The account it acts on; null for a passwordless code that may create one. */
    userId: text("user_id"),
    /** `otp` only: create the account on success when none exists. */
    createUser: integer("create_user", { mode: "boolean" }).notNull().default(false),
    /** base64url(SHA-256(link token)). */
    tokenHash: text("token_hash").notNull().unique(),
    /** base64url(HMAC-SHA256(code key, `<id>.<code>`)). */
    codeHash: text("code_hash").notNull(),
    /** Wrong codes so far; the fifth ends the challenge. */
    attempts: integer("attempts").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    /** The code's end (10 minutes); the link may live longer. */
    codeExpiresAt: integer("code_expires_at").notNull(),
    /** The link's end, and the row's. */
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [
    uniqueIndex("email_challenges_purpose_subject_idx").on(t.purpose, t.subject),
    index("email_challenges_expires_at_idx").on(t.expiresAt),
  ],
);

/**
 * One row per session, however often it refreshes: `generation` is the only live
 * refresh-token value (docs/design/tokens.md#what-is-stored). No token or token hash is stored.
 */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    clientId: text("client_id").notNull(),
    generation: integer("generation").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at").notNull(),
    rotatedAt: integer("rotated_at").notNull(),
    /** Absolute end of the session: created_at + SESSION_MAX_AGE at creation. */
    expiresAt: integer("expires_at").notNull(),
    revokedAt: integer("revoked_at"),
    revokedReason: text("revoked_reason"),
    userAgent: text("user_agent"),
    ip: text("ip"),
    /** Scopes granted (code flow); null for first-party sign-in. */
    scope: text("scope"),
    /** When the user authenticated (OIDC `auth_time`); null: `created_at`. */
    authTime: integer("auth_time"),
  },
  (t) => [index("sessions_user_id_idx").on(t.userId)],
);

/** Lifecycle: next → current → previous → retired (docs/design/keys.md#lifecycle). */
export const KEY_STATUSES = ["next", "current", "previous", "retired"] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];

export const signingKeys = sqliteTable(
  "signing_keys",
  {
    kid: text("kid").primaryKey(),
    alg: text("alg").notNull(),
    status: text("status", { enum: KEY_STATUSES }).notNull(),
    /** Public JWK as JSON: the members published in the JWKS. */
    publicJwk: text("public_jwk").notNull(),
    /** Private JWK as a compact JWE (`dir`, `A256GCM`) under the key-encryption key. */
    privateJwkJwe: text("private_jwk_jwe").notNull(),
    createdAt: integer("created_at").notNull(),
    /** When it became `current`. */
    activatedAt: integer("activated_at"),
    /** When it stopped signing (became `previous`). */
    deactivatedAt: integer("deactivated_at"),
    retiredAt: integer("retired_at"),
  },
  (t) => [
    // Per algorithm, at most one signing key and one waiting key, whatever races at start-up
    // (docs/design/keys.md: access tokens sign with SIGNING_ALG, ID tokens with RS256 or a
    // client's alg, each with its own lifecycle).
    uniqueIndex("signing_keys_one_current_per_alg").on(t.alg).where(sql`status = 'current'`),
    uniqueIndex("signing_keys_one_next_per_alg").on(t.alg).where(sql`status = 'next'`),
  ],
);

/**
 * Registered OAuth clients (RFC 6749 §2). A confidential client has a secret, stored only
 * as its SHA-256 digest (the secret is 256 random bits, so a slow hash adds nothing); a
 * public client has none.
 */
export const clients = sqliteTable("clients", {
  clientId: text("client_id").primaryKey(),
  name: text("name").notNull(),
  /** base64url(SHA-256(secret)); null for public clients. */
  secretHash: text("secret_hash"),
  /** JSON array of grant types, e.g. `["client_credentials","refresh_token"]`. */
  grantTypes: text("grant_types").notNull(),
  /** JSON array of redirect URIs (for the authorization-code flow). */
  redirectUris: text("redirect_uris").notNull().default("[]"),
  /** Space-separated scopes the client may be granted (RFC 6749 §3.3). */
  scopes: text("scopes").notNull().default(""),
  /** JSON array of RP-initiated-logout targets (OpenID Connect RP-Initiated Logout 1.0). */
  postLogoutRedirectUris: text("post_logout_redirect_uris").notNull().default("[]"),
  /** First-party clients skip the consent page. */
  firstParty: integer("first_party", { mode: "boolean" }).notNull().default(false),
  /** JWS alg of its ID tokens; null: RS256. */
  idTokenSignedResponseAlg: text("id_token_signed_response_alg"),
  /** Access-token lifetime in seconds; null: ACCESS_TOKEN_TTL. */
  accessTokenTtl: integer("access_token_ttl"),
  /** Lifetime of the sessions (refresh tokens) this client's code flow starts; null: SESSION_MAX_AGE. */
  refreshTokenTtl: integer("refresh_token_ttl"),
  createdAt: integer("created_at").notNull(),
});

/**
 * Fixed-window request counters per client IP and bucket (`auth:<ip>`, `token:<ip>`). One
 * atomic UPSERT a request, so limits hold across Node instances and on D1.
 */
export const rateLimits = sqliteTable("rate_limits", {
  key: text("key").primaryKey(),
  windowStart: integer("window_start").notNull(),
  count: integer("count").notNull(),
});

/**
 * Consecutive failed sign-ins per account, keyed by SHA-256 of the normalised email so
 * unknown emails are throttled exactly like known ones (no account enumeration).
 */
export const loginThrottles = sqliteTable("login_throttles", {
  key: text("key").primaryKey(),
  failures: integer("failures").notNull(),
  lastFailureAt: integer("last_failure_at").notNull(),
});

/** Security-relevant events a user can review (`GET /v1/events`). */
export const authEvents = sqliteTable(
  "auth_events",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    type: text("type").notNull(),
    sessionId: text("session_id"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("auth_events_user_created_idx").on(t.userId, t.createdAt)],
);

/**
 * Authorization requests waiting for the user (sign-in, consent) or pushed by a client
 * (RFC 9126 PAR: `request_uri = urn:ietf:params:oauth:request_uri:<id>`). The validated
 * parameters as JSON; short-lived (docs/design/oauth.md#authorization-requests).
 */
export const authorizationRequests = sqliteTable(
  "authorization_requests",
  {
    id: text("id").primaryKey(),
    clientId: text("client_id").notNull(),
    /** JSON of the validated request. */
    params: text("params").notNull(),
    /** Pushed by the client (PAR): usable once at /oauth/authorize. */
    pushed: integer("pushed", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("authorization_requests_expires_at_idx").on(t.expiresAt)],
);

/**
 * Authorization codes (RFC 6749 §4.1.2): only their SHA-256 is stored. Single use within 60 s,
 * bound to client, redirect URI and PKCE challenge; a second use revokes the session the
 * first one started (RFC 6749 §10.5, docs/design/oauth.md#codes).
 */
export const authorizationCodes = sqliteTable(
  "authorization_codes",
  {
    codeHash: text("code_hash").primaryKey(),
    clientId: text("client_id").notNull(),
    userId: text("user_id").notNull(),
    redirectUri: text("redirect_uri").notNull(),
    /** PKCE S256 challenge (RFC 7636). */
    codeChallenge: text("code_challenge").notNull(),
    scope: text("scope").notNull(),
    nonce: text("nonce"),
    authTime: integer("auth_time").notNull(),
    /** The browser session it came from (OIDC `sid`). */
    browserSessionId: text("browser_session_id"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
    /** The session the exchange started; revoked if the code is replayed. */
    sessionId: text("session_id"),
  },
  (t) => [index("authorization_codes_expires_at_idx").on(t.expiresAt)],
);

/**
 * Browser SSO sessions behind the hosted pages: the cookie holds a random token, the row its
 * SHA-256. A second authorization skips sign-in while it is live; logout ends it.
 */
export const browserSessions = sqliteTable(
  "browser_sessions",
  {
    id: text("id").primaryKey(),
    tokenHash: text("token_hash").notNull().unique(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    authTime: integer("auth_time").notNull(),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("browser_sessions_user_id_idx").on(t.userId)],
);

/** Scopes a user granted a third-party client (asked once, until they grow). */
export const consents = sqliteTable(
  "consents",
  {
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    clientId: text("client_id").notNull(),
    scope: text("scope").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("consents_user_client_idx").on(t.userId, t.clientId)],
);

/** What an upstream identity provider speaks (docs/design/upstream.md#providers). */
export const PROVIDER_KINDS = ["oidc", "google", "microsoft", "github", "apple"] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/**
 * Upstream identity providers (social sign-in), managed with `npm run providers`. A client
 * secret or Apple's PKCS#8 key is sealed as a compact JWE (`dir`, `A256GCM`) under the
 * provider-secret key; without one the provider is native-only (no browser leg).
 */
export const identityProviders = sqliteTable("identity_providers", {
  /** Slug, `^[a-z0-9][a-z0-9-]{0,31}$`; part of the callback URL. */
  name: text("name").primaryKey(),
  kind: text("kind", { enum: PROVIDER_KINDS }).notNull(),
  /** "Continue with <display_name>"; null: the kind's own name. */
  displayName: text("display_name"),
  issuer: text("issuer").notNull(),
  /** JSON array; the first is the browser leg's, all are accepted as an id_token `aud`. */
  clientIds: text("client_ids").notNull(),
  /** Space-separated scopes asked for in the browser leg. */
  scopes: text("scopes").notNull(),
  /** GitHub: the REST API origin. */
  apiUrl: text("api_url"),
  /** Microsoft: `common`, `organizations`, `consumers` or a tenant id. */
  tenant: text("tenant"),
  /** Apple: the team id (`iss` of the client-secret JWT). */
  teamId: text("team_id"),
  /** Apple: the key id (`kid` of the client-secret JWT). */
  keyId: text("key_id"),
  /** Client secret, or Apple's private key PEM, as a compact JWE; null: native-only. */
  secretJwe: text("secret_jwe"),
  createdAt: integer("created_at").notNull(),
});

/**
 * A user's accounts at upstream providers: one row per (provider name, subject). Kept when
 * the provider is deleted, so adding it again under the same name restores them.
 */
export const identities = sqliteTable(
  "identities",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The provider's `name`. */
    provider: text("provider").notNull(),
    /** The provider's stable user id (`sub`; GitHub: the numeric user id). */
    subject: text("subject").notNull(),
    /** The address the provider last reported, normalised; null: none shared. */
    email: text("email"),
    emailVerified: integer("email_verified", { mode: "boolean" }).notNull().default(false),
    name: text("name"),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at").notNull(),
  },
  (t) => [
    uniqueIndex("identities_provider_subject_idx").on(t.provider, t.subject),
    index("identities_user_id_idx").on(t.userId),
  ],
);

/**
 * Browser legs under way at an upstream provider (10 minutes): the `state` sent there, the
 * PKCE verifier and nonce, and the pending authorization request to continue. Single use.
 */
export const upstreamAuthorizations = sqliteTable(
  "upstream_authorizations",
  {
    state: text("state").primaryKey(),
    provider: text("provider").notNull(),
    requestId: text("request_id").notNull(),
    codeVerifier: text("code_verifier").notNull(),
    /** OIDC kinds; null for GitHub (OAuth 2.0 only). */
    nonce: text("nonce"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("upstream_authorizations_expires_at_idx").on(t.expiresAt)],
);

/**
 * Nonces of exchanged upstream id_tokens, each accepted once per provider until the token
 * expires. Key: base64url(SHA-256(`<provider>.<nonce>`)).
 */
export const upstreamNonces = sqliteTable(
  "upstream_nonces",
  {
    key: text("key").primaryKey(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("upstream_nonces_expires_at_idx").on(t.expiresAt)],
);
