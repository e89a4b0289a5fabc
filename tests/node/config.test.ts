import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config.ts";

describe("configuration", () => {
  it("has the documented defaults", () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      issuer: "http://localhost:8787",
      port: 8787,
      databaseUrl: "file:./data/tessera.db",
      accessTokenTtl: 900,
      accessTokenAudience: "http://localhost:8787",
      signingAlg: "EdDSA",
      refreshIdleTtl: 30 * 86400,
      sessionMaxAge: 90 * 86400,
      refreshReuseGrace: 10,
      rateLimits: true,
      trustProxy: undefined,
    });
  });

  it("defaults ISSUER to the local URL of PORT", () => {
    expect(parseConfig({ PORT: "9000" }).issuer).toBe("http://localhost:9000");
    expect(parseConfig({ PORT: "9000", ISSUER: "https://auth.example.com" }).issuer).toBe(
      "https://auth.example.com",
    );
  });

  it("parses durations in seconds or with s|m|h|d", () => {
    expect(parseConfig({ ACCESS_TOKEN_TTL: "600" }).accessTokenTtl).toBe(600);
    expect(parseConfig({ ACCESS_TOKEN_TTL: "10m" }).accessTokenTtl).toBe(600);
    expect(parseConfig({ REFRESH_IDLE_TTL: "12h" }).refreshIdleTtl).toBe(43200);
    expect(parseConfig({ SESSION_MAX_AGE: "7d" }).sessionMaxAge).toBe(604800);
    expect(parseConfig({ REFRESH_REUSE_GRACE: "0" }).refreshReuseGrace).toBe(0);
  });

  it("strips a trailing slash from ISSUER, treats empty values as unset", () => {
    expect(parseConfig({ ISSUER: "https://auth.example.com/" }).issuer).toBe(
      "https://auth.example.com",
    );
    expect(parseConfig({ PORT: "" }).port).toBe(8787);
  });

  const bad: Array<[string, string]> = [
    ["PORT", "eighty"],
    ["PORT", "70000"],
    ["ISSUER", "ftp://example.com"],
    ["ISSUER", "not a url"],
    ["ACCESS_TOKEN_TTL", "15 minutes"],
    ["ACCESS_TOKEN_TTL", "0"],
    ["REFRESH_IDLE_TTL", "-5"],
    ["SIGNING_ALG", "HS256"],
    ["SIGNING_ALG", "none"],
    ["TESSERA_SECRET", "too-short"],
    ["RATE_LIMITS", "maybe"],
    ["LOG_LEVEL", "loud"],
    ["SCRYPT_LN", "15"],
    ["RATE_LIMIT_AUTH", "60/0m"],
    ["RATE_LIMIT_TOKEN", "100/7d"],
    ["RATE_LIMIT_AUTH", "0/1m"],
    ["SCRYPT_LN", "9"],
  ];
  for (const [variable, value] of bad) {
    it(`stops on ${variable}=${value} with one line naming the variable`, () => {
      let caught: unknown;
      try {
        parseConfig({ [variable]: value });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      const message = (caught as ConfigError).message;
      expect(message).toContain(variable);
      expect(message).not.toContain("\n");
      expect((caught as ConfigError).variable).toBe(variable);
    });
  }

  it("parses the email settings, naming the variable when one is wrong", () => {
    const defaults = parseConfig({ ISSUER: "https://auth.example.com" });
    expect(defaults.appName).toBe("Tessera");
    expect(defaults.email).toMatchObject({
      transport: { kind: "log" },
      from: "Tessera <no-reply@auth.example.com>",
      verification: "optional",
      addressLimit: { limit: 5, windowMs: 3_600_000 },
      ipLimit: { limit: 30, windowMs: 3_600_000 },
    });
    expect(
      parseConfig({ EMAIL_TRANSPORT: "smtps://u:p@smtp.example.com:465" }).email.transport,
    ).toEqual({ kind: "smtp", url: "smtps://u:p@smtp.example.com:465" });
    expect(
      parseConfig({ EMAIL_TRANSPORT: "webhook:https://mail.example.com/hook" }).email.transport,
    ).toEqual({ kind: "webhook", url: "https://mail.example.com/hook" });
    expect(
      parseConfig({ EMAIL_TRANSPORT: "webhook:http://127.0.0.1:9000/hook" }).email.transport,
    ).toEqual({ kind: "webhook", url: "http://127.0.0.1:9000/hook" });
    for (const bad of ["sendgrid", "webhook:http://mail.example.com/hook", "webhook:", "smtp:/x"]) {
      expect(() => parseConfig({ EMAIL_TRANSPORT: bad }), bad).toThrow(/EMAIL_TRANSPORT/);
    }
    expect(() => parseConfig({ EMAIL_TRANSPORT: "resend" })).toThrow(/RESEND_API_KEY/);
    expect(() => parseConfig({ EMAIL_VERIFICATION: "maybe" })).toThrow(/EMAIL_VERIFICATION/);
    expect(() => parseConfig({ RATE_LIMIT_EMAIL: "5" })).toThrow(/RATE_LIMIT_EMAIL/);
  });
});
