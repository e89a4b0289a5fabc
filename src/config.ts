import { ACCESS_TOKEN_ALGORITHMS, type AccessTokenAlgorithm } from "@tessera/verify";
import * as z from "zod";

/** Signing algorithms Tessera can issue access tokens with (the one allow-list). */
export const SIGNING_ALGS = ACCESS_TOKEN_ALGORITHMS;
/** A JWS algorithm Tessera signs access tokens with. */
export type SigningAlg = AccessTokenAlgorithm;

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** `900`, `900s`, `15m`, `12h`, `30d` → seconds. */
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const match = /^(\d+)([smhd]?)$/.exec(value.trim());
      if (!match) {
        ctx.addIssue({
          code: "custom",
          message: `expected integer seconds or <n>s|m|h|d, got "${value}"`,
        });
        return z.NEVER;
      }
      const unit = (match[2] || "s") as keyof typeof UNIT_SECONDS;
      return Number(match[1]) * UNIT_SECONDS[unit];
    });

/** `60/1m`: at most 60 requests a minute. */
const rate = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const match = /^(\d+)\/(\d*)([smhd])$/.exec(value.trim());
      if (!match || Number(match[1]) < 1) {
        ctx.addIssue({
          code: "custom",
          message: `expected <count>/<window> like 60/1m, got "${value}"`,
        });
        return z.NEVER;
      }
      const unit = match[3] as keyof typeof UNIT_SECONDS;
      const windowS = Number(match[2] || "1") * UNIT_SECONDS[unit];
      // Stale counters are pruned after a day, so a window is 1 s to 1 d.
      if (windowS < 1 || windowS > 86400) {
        ctx.addIssue({
          code: "custom",
          message: `expected a window from 1s to 1d, got "${value}"`,
        });
        return z.NEVER;
      }
      return { limit: Number(match[1]), windowMs: windowS * 1000 };
    });

const httpUrl = () => z.url({ protocol: /^https?$/, error: "expected an http(s) URL" });

const EnvSchema = z.object({
  ISSUER: httpUrl()
    .transform((v) => v.replace(/\/+$/, ""))
    .optional(),
  PORT: z.coerce.number({ error: "expected a port number" }).int().min(0).max(65535).default(8787),
  SHUTDOWN_GRACE: duration("10s").pipe(z.number().min(1).max(300)),
  DATABASE_URL: z.string().min(1).default("file:./data/tessera.db"),
  DATABASE_AUTH_TOKEN: z.string().min(1).optional(),
  TESSERA_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43,}$/, "expected at least 32 random bytes, base64url-encoded")
    .optional(),
  ACCESS_TOKEN_TTL: duration("900").pipe(z.number().min(1).max(86400)),
  ACCESS_TOKEN_AUDIENCE: z.string().min(1).optional(),
  SIGNING_ALG: z
    .enum(SIGNING_ALGS, { error: `expected one of ${SIGNING_ALGS.join(", ")}` })
    .default("EdDSA"),
  REFRESH_IDLE_TTL: duration("30d").pipe(z.number().min(60)),
  SESSION_MAX_AGE: duration("90d").pipe(z.number().min(60)),
  REFRESH_REUSE_GRACE: duration("10s").pipe(z.number().max(300)),
  // 0 turns scheduled rotation off; otherwise at least a day, so keys outlive JWKS caches.
  KEY_ROTATION_INTERVAL: duration("30d").pipe(
    z.number().refine((v) => v === 0 || v >= 86400, "expected 0 (off) or at least 1d"),
  ),
  // N·r·p ≤ 2^20 is node:crypto's limit on workerd; with r=8, p=5 that caps ln at 14.
  SCRYPT_LN: z.coerce
    .number()
    .int()
    .min(10, "expected 10..14")
    .max(14, "expected 10..14 (N·r·p must stay within 2^20 for Workers)")
    .default(14),
  CORS_ORIGINS: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
    ),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  RATE_LIMITS: z.enum(["on", "off"]).default("on"),
  RATE_LIMIT_AUTH: rate("60/1m"),
  RATE_LIMIT_TOKEN: rate("600/1m"),
  AUTH_EVENTS_RETENTION: duration("90d").pipe(z.number().min(86400, "expected at least 1d")),
  PASSWORD_MIN_LENGTH: z.coerce
    .number()
    .int()
    .min(8, "expected 8..64 (NIST SP 800-63B)")
    .max(64, "expected 8..64 (NIST SP 800-63B)")
    .default(8),
  TRUST_PROXY: z.string().min(1).optional(),
  NODE_ENV: z.string().optional(),
  APP_NAME: z.string().trim().min(1).max(64).default("Tessera"),
  ACCENT_COLOR: z
    .string()
    .trim()
    .regex(/^#[0-9a-fA-F]{6}$/, "expected a #rrggbb hex colour, e.g. #4f46e5")
    .transform((v) => v.toLowerCase())
    .default("#4f46e5"),
  EMAIL_TRANSPORT: z
    .string()
    .default("log")
    .transform((value, ctx): EmailTransport => {
      if (value === "log") return { kind: "log" };
      if (value === "resend") return { kind: "resend" };
      if (/^smtps?:\/\//.test(value) && parseUrl(value)) return { kind: "smtp", url: value };
      const webhook = /^webhook:(.+)$/.exec(value)?.[1];
      if (webhook && isWebhookUrl(webhook)) return { kind: "webhook", url: webhook };
      ctx.addIssue({
        code: "custom",
        message:
          "expected log, smtp://…, smtps://…, resend, or webhook:<https-url> (http only for loopback)",
      });
      return z.NEVER;
    }),
  EMAIL_FROM: z.string().trim().min(3).optional(),
  RESEND_API_KEY: z.string().min(1).optional(),
  RESEND_API_URL: httpUrl()
    .transform((v) => v.replace(/\/+$/, ""))
    .default("https://api.resend.com"),
  EMAIL_VERIFICATION: z.enum(["off", "optional", "required"]).default("optional"),
  RATE_LIMIT_EMAIL: rate("5/1h"),
  RATE_LIMIT_EMAIL_IP: rate("30/1h"),
});

/** Where messages go (`EMAIL_TRANSPORT`). */
export type EmailTransport =
  | { kind: "log" }
  | { kind: "smtp"; url: string }
  | { kind: "resend" }
  | { kind: "webhook"; url: string };

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** https, or http to a loopback host (a mailer beside Tessera, tests). */
function isWebhookUrl(value: string): boolean {
  const url = parseUrl(value);
  if (!url) return false;
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
}

/** Validated configuration. Durations are in seconds. */
export type Config = Readonly<{
  issuer: string;
  port: number;
  /** Node: seconds a stop (SIGTERM, SIGINT) waits for requests in flight before closing them. */
  shutdownGrace: number;
  databaseUrl: string;
  databaseAuthToken: string | undefined;
  secret: string | undefined;
  accessTokenTtl: number;
  accessTokenAudience: string;
  signingAlg: SigningAlg;
  refreshIdleTtl: number;
  sessionMaxAge: number;
  refreshReuseGrace: number;
  keyRotationInterval: number;
  scryptLogN: number;
  corsOrigins: readonly string[];
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  rateLimits: boolean;
  /** Per client IP: signup, login, password change. */
  authRateLimit: { limit: number; windowMs: number };
  /** Per client IP: `/oauth/*`. */
  tokenRateLimit: { limit: number; windowMs: number };
  passwordMinLength: number;
  /** How long `auth_events` rows are kept, in seconds. */
  authEventsRetention: number;
  trustProxy: string | undefined;
  production: boolean;
  /** The product name in emails and hosted pages. */
  appName: string;
  /** The hosted pages' accent colour (`ACCENT_COLOR`), lower-case `#rrggbb`. */
  accentColor: string;
  email: Readonly<{
    transport: EmailTransport;
    /** The From header, e.g. `Tessera <no-reply@auth.example.com>`. */
    from: string;
    resendApiKey: string | undefined;
    resendApiUrl: string;
    /** `off`: never sent; `optional`: sent, sign-in works unverified; `required`: no sign-in unverified. */
    verification: "off" | "optional" | "required";
    /** Sends per address (whether or not it has an account). */
    addressLimit: { limit: number; windowMs: number };
    /** Sends per client IP. */
    ipLimit: { limit: number; windowMs: number };
  }>;
}>;

/** Thrown by {@link parseConfig}; `message` is one line naming the variable. */
export class ConfigError extends Error {
  readonly code = "ERR_CONFIG";
  constructor(
    readonly variable: string,
    readonly expected: string,
  ) {
    super(`Invalid configuration: ${variable}: ${expected}`);
    this.name = "ConfigError";
  }
}

/**
 * Parses the environment once, at start-up. Empty strings count as unset so that
 * `VAR=` in a shell or a `.env` file falls back to the default.
 */
export function parseConfig(env: Readonly<Record<string, unknown>>): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const value = env[key];
    if (typeof value === "string" && value !== "") input[key] = value;
    else if (typeof value === "number") input[key] = String(value);
  }
  const result = EnvSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(String(issue?.path[0] ?? "environment"), issue?.message ?? "invalid");
  }
  const e = result.data;
  if (e.EMAIL_TRANSPORT.kind === "resend" && !e.RESEND_API_KEY) {
    throw new ConfigError("RESEND_API_KEY", "required when EMAIL_TRANSPORT=resend");
  }
  // Unset ISSUER follows PORT, so a local server's tokens name the URL it answers on.
  const issuer = e.ISSUER ?? `http://localhost:${e.PORT}`;
  return Object.freeze({
    issuer,
    port: e.PORT,
    shutdownGrace: e.SHUTDOWN_GRACE,
    databaseUrl: e.DATABASE_URL,
    databaseAuthToken: e.DATABASE_AUTH_TOKEN,
    secret: e.TESSERA_SECRET,
    accessTokenTtl: e.ACCESS_TOKEN_TTL,
    accessTokenAudience: e.ACCESS_TOKEN_AUDIENCE ?? issuer,
    signingAlg: e.SIGNING_ALG,
    refreshIdleTtl: e.REFRESH_IDLE_TTL,
    sessionMaxAge: e.SESSION_MAX_AGE,
    refreshReuseGrace: e.REFRESH_REUSE_GRACE,
    keyRotationInterval: e.KEY_ROTATION_INTERVAL,
    scryptLogN: e.SCRYPT_LN,
    corsOrigins: Object.freeze(e.CORS_ORIGINS),
    logLevel: e.LOG_LEVEL,
    rateLimits: e.RATE_LIMITS === "on",
    authRateLimit: e.RATE_LIMIT_AUTH,
    tokenRateLimit: e.RATE_LIMIT_TOKEN,
    passwordMinLength: e.PASSWORD_MIN_LENGTH,
    authEventsRetention: e.AUTH_EVENTS_RETENTION,
    trustProxy: e.TRUST_PROXY,
    production: e.NODE_ENV === "production",
    appName: e.APP_NAME,
    accentColor: e.ACCENT_COLOR,
    email: Object.freeze({
      transport: e.EMAIL_TRANSPORT,
      from: e.EMAIL_FROM ?? `${e.APP_NAME} <no-reply@${new URL(issuer).hostname}>`,
      resendApiKey: e.RESEND_API_KEY,
      resendApiUrl: e.RESEND_API_URL,
      verification: e.EMAIL_VERIFICATION,
      addressLimit: e.RATE_LIMIT_EMAIL,
      ipLimit: e.RATE_LIMIT_EMAIL_IP,
    }),
  });
}
