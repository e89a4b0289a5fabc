import { afterEach, describe, expect, it, vi } from "vitest";
import { authorizationServer, clearDiscoveryCache } from "./authorization-server.ts";
import type { UpstreamProvider } from "./provider.ts";

const provider = (issuer: string): UpstreamProvider => ({
  name: "acme",
  kind: "oidc",
  displayName: "Acme",
  issuer,
  clientIds: ["web-client"],
  scopes: ["openid", "email"],
  apiUrl: null,
  tenant: null,
  teamId: null,
  keyId: null,
  browserLeg: true,
  createdAt: 0,
});

/** Answers the discovery request of `issuer` with a document naming `endpoints`. */
function serveDiscovery(issuer: string, endpoints: Record<string, string>) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL) => {
      const url = new URL(input instanceof Request ? input.url : input);
      expect(url.href).toBe(`${issuer}/.well-known/openid-configuration`);
      return Response.json({
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        ...endpoints,
      });
    }),
  );
}

describe("authorizationServer: which endpoints a discovery document may name", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    clearDiscoveryCache();
  });

  it("an https issuer's endpoints are https: a plain-http loopback one is refused (SSRF)", async () => {
    for (const field of ["token_endpoint", "jwks_uri", "authorization_endpoint"]) {
      clearDiscoveryCache();
      serveDiscovery("https://op.example", { [field]: "http://127.0.0.1:8080/internal" });
      await expect(authorizationServer(provider("https://op.example"), 0)).rejects.toThrow(
        /not https/,
      );
    }
    clearDiscoveryCache();
    serveDiscovery("https://op.example", {});
    expect((await authorizationServer(provider("https://op.example"), 0)).token_endpoint).toBe(
      "https://op.example/token",
    );
  });

  it("a loopback issuer (tests, development) may name plain-http loopback endpoints only", async () => {
    const issuer = "http://127.0.0.1:4000";
    serveDiscovery(issuer, { token_endpoint: "http://localhost:4001/token" });
    expect((await authorizationServer(provider(issuer), 0)).token_endpoint).toBe(
      "http://localhost:4001/token",
    );
    clearDiscoveryCache();
    serveDiscovery(issuer, { token_endpoint: "http://op.example/token" });
    await expect(authorizationServer(provider(issuer), 0)).rejects.toThrow(/not https/);
  });
});
