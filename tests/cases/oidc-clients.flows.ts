import { decodeJwt, decodeProtectedHeader } from "jose";
import * as oauth from "oauth4webapi";
import * as client from "openid-client";
import { expect } from "vitest";
import { Browser, type Fetch, heading, type Landing } from "../harness/rp-browser.ts";
import { PASSWORD, uniqueEmail } from "./helpers.ts";

/**
 * The authorization-code flow driven by real relying-party libraries, with their defaults:
 * openid-client 6 and oauth4webapi 3. Each flow runs discovery, PAR and a plain authorization
 * request, signs in on the hosted pages (and consents, for a third-party client), exchanges
 * the code (the library validates the ID token: iss, aud, nonce, alg; its signature is checked
 * against jwks_uri too), calls userinfo, refreshes, logs out through the end-session endpoint,
 * and finally sees `prompt=none` answered with `login_required`.
 *
 * A target is a running Tessera: a listening Node server (tests/node/oidc-clients.test.ts) or
 * the Worker entry in workerd, reached through the libraries' custom fetch
 * (tests/worker/oidc-clients.test.ts).
 */
export type RpTarget = {
  issuer: string;
  /** How the browser and the libraries reach the issuer. */
  fetch: Fetch;
  /** Given to the libraries as their `customFetch`; absent: they use the global fetch. */
  customFetch?: Fetch;
  registerClient(input: {
    name: string;
    redirectUris: string[];
    postLogoutRedirectUris: string[];
    public: boolean;
    firstParty: boolean;
    /** `--id-token-alg`; absent: RS256. */
    idTokenAlg?: string;
  }): Promise<{ clientId: string; clientSecret?: string }>;
};

export const RP_REDIRECT_URI = "https://rp.example/callback";
export const RP_POST_LOGOUT_URI = "https://rp.example/signed-out";

/** A new account, made on the JSON API. */
export async function createAccount(t: RpTarget) {
  const email = uniqueEmail("rp");
  const res = await t.fetch(`${t.issuer}/v1/signup`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  expect(res.status).toBe(201);
  await res.body?.cancel();
  return { email, password: PASSWORD };
}

/**
 * From the hosted sign-in page (and the consent page, when asked for) to the redirect back
 * to the client; returns the URL the browser was sent to.
 */
async function signInAndReturn(
  browser: Browser,
  start: Landing,
  account: { email: string; password: string },
  expectConsent: boolean,
): Promise<URL> {
  expect(start.kind, JSON.stringify(start)).toBe("page");
  expect(heading(start)).toBe("Sign in");
  if (start.kind === "page") {
    expect(start.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
  }
  let landing = await browser.submit(
    start,
    { email: account.email, password: account.password },
    "/authorize/sign-in",
  );
  if (expectConsent) {
    expect(landing.kind, JSON.stringify(landing)).toBe("page");
    expect(heading(landing)).toMatch(/^Allow .+ to access your account\?$/);
    landing = await browser.submit(landing, { decision: "allow" }, "/authorize/consent");
  }
  expect(landing.kind, JSON.stringify(landing)).toBe("left");
  if (landing.kind !== "left") throw new Error("still on the issuer");
  expect(landing.status).toBe(303);
  return landing.url;
}

/** The end-session round trip: confirmation page, its POST, the 303 back with `state`. */
async function logOut(browser: Browser, endSessionUrl: URL, state: string) {
  const confirm = await browser.navigate(endSessionUrl.toString());
  expect(confirm.kind, JSON.stringify(confirm)).toBe("page");
  expect(heading(confirm), confirm.kind === "page" ? confirm.html : "").toMatch(/^Sign out of /);
  expect(confirm.kind === "page" && confirm.headers.get("Content-Security-Policy")).toContain(
    "frame-ancestors 'none'",
  );
  const back = await browser.submit(confirm, {}, "/oauth/logout");
  expect(back.kind, JSON.stringify(back)).toBe("left");
  if (back.kind !== "left") throw new Error("still on the issuer");
  expect(back.status).toBe(303);
  expect(`${back.url.origin}${back.url.pathname}`).toBe(RP_POST_LOGOUT_URI);
  expect(back.url.searchParams.get("state")).toBe(state);
  return back.url;
}

/** openid-client 6: `discovery`, PAR and plain authorization URLs, code grant, userinfo, refresh, end session. */
export async function openidClientFlow(
  t: RpTarget,
  variant: { confidential: boolean; firstParty: boolean; idTokenAlg?: string },
) {
  const registered = await t.registerClient({
    name: `openid-client ${variant.confidential ? "web app" : "native app"}`,
    redirectUris: [RP_REDIRECT_URI],
    postLogoutRedirectUris: [RP_POST_LOGOUT_URI],
    public: !variant.confidential,
    firstParty: variant.firstParty,
    ...(variant.idTokenAlg ? { idTokenAlg: variant.idTokenAlg } : {}),
  });
  // The client's registered alg, told to the library as its metadata (default: RS256).
  const alg = variant.idTokenAlg ?? "RS256";
  const metadata: Partial<client.ClientMetadata> = variant.idTokenAlg
    ? { id_token_signed_response_alg: variant.idTokenAlg }
    : {};
  const account = await createAccount(t);
  const options = {
    execute: [client.allowInsecureRequests],
    ...(t.customFetch ? { [client.customFetch]: t.customFetch } : {}),
  };
  // Public: no client authentication (PKCE only). Confidential: the library's default for a
  // secret, client_secret_post.
  const config = variant.confidential
    ? await client.discovery(
        new URL(t.issuer),
        registered.clientId,
        variant.idTokenAlg
          ? { ...metadata, client_secret: registered.clientSecret as string }
          : registered.clientSecret,
        undefined,
        options,
      )
    : await client.discovery(
        new URL(t.issuer),
        registered.clientId,
        metadata,
        client.None(),
        options,
      );
  // The ID token's signature is checked against jwks_uri too (off by default: TLS trust).
  client.enableNonRepudiationChecks(config);
  const server = config.serverMetadata();
  expect(server.issuer).toBe(t.issuer);
  expect(server.supportsPKCE()).toBe(true);

  /** One authorization request, PAR or plain, answered by the hosted pages. */
  const authorize = async (browser: Browser, par: boolean, consent: boolean) => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const params = {
      redirect_uri: RP_REDIRECT_URI,
      scope: "openid email offline_access",
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    };
    const url = par
      ? await client.buildAuthorizationUrlWithPAR(config, params)
      : client.buildAuthorizationUrl(config, params);
    if (par) {
      expect([...url.searchParams.keys()].sort()).toEqual(["client_id", "request_uri"]);
    }
    const start = await browser.navigate(url.toString());
    const callback =
      start.kind === "left" ? start.url : await signInAndReturn(browser, start, account, consent);
    expect(callback.searchParams.get("iss")).toBe(t.issuer);
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    return { tokens, start, nonce };
  };

  // 1. PAR; the browser has no session: sign-in page (and consent for a third party).
  const browser = new Browser({ [t.issuer]: t.fetch });
  const first = await authorize(browser, true, !variant.firstParty);
  const { tokens } = first;
  expect(tokens.token_type.toLowerCase()).toBe("bearer");
  expect(tokens.scope).toBe("openid email offline_access");
  expect(tokens.refresh_token).toEqual(expect.any(String));
  const claims = tokens.claims();
  if (!claims) throw new Error("no ID token claims");
  expect(claims).toMatchObject({
    iss: t.issuer,
    aud: registered.clientId,
    nonce: first.nonce,
    email: account.email,
  });
  expect(claims.auth_time).toEqual(expect.any(Number));
  expect(decodeProtectedHeader(tokens.id_token as string)).toMatchObject({ alg });

  // 2. A plain authorization request in the same browser: the SSO session answers at once
  // (consent, once given, is remembered).
  const second = await authorize(browser, false, false);
  expect(second.start.kind).toBe("left");
  expect(second.tokens.claims()?.sub).toBe(claims.sub);
  expect(second.tokens.claims()?.sid).toBe(claims.sid);

  // 3. userinfo (with the library's subject check).
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  expect(userinfo).toMatchObject({ sub: claims.sub, email: account.email });

  // 4. Refresh (rotation: a new refresh token).
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token as string);
  expect(refreshed.access_token).not.toBe(tokens.access_token);
  expect(refreshed.refresh_token).toEqual(expect.any(String));
  expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
  const again = await client.fetchUserInfo(config, refreshed.access_token, claims.sub);
  expect(again.sub).toBe(claims.sub);

  // 5. RP-initiated logout with id_token_hint, post_logout_redirect_uri and state.
  const logoutState = client.randomState();
  const endSession = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token as string,
    post_logout_redirect_uri: RP_POST_LOGOUT_URI,
    state: logoutState,
  });
  expect(endSession.href.startsWith(`${t.issuer}/oauth/logout?`)).toBe(true);
  await logOut(browser, endSession, logoutState);

  // 6. The browser session is gone: prompt=none comes back with login_required.
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const silent = client.buildAuthorizationUrl(config, {
    redirect_uri: RP_REDIRECT_URI,
    scope: "openid",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    prompt: "none",
  });
  const answer = await browser.navigate(silent.toString());
  expect(answer.kind, JSON.stringify(answer)).toBe("left");
  if (answer.kind !== "left") throw new Error("still on the issuer");
  expect(answer.url.searchParams.get("iss")).toBe(t.issuer);
  await expect(
    client.authorizationCodeGrant(config, answer.url, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    }),
  ).rejects.toMatchObject({ error: "login_required" });

  return { clientId: registered.clientId, claims, browser };
}

/**
 * oauth4webapi 3: discovery, PAR, the callback's validation (state, iss), the code grant (its
 * ID-token validation, plus the signature against jwks_uri), userinfo, refresh; the end-session
 * URL built by hand (the library has no helper).
 */
export async function oauth4webapiFlow(
  t: RpTarget,
  variant: { confidential: boolean; firstParty: boolean },
) {
  const registered = await t.registerClient({
    name: `oauth4webapi ${variant.confidential ? "web app" : "native app"}`,
    redirectUris: [RP_REDIRECT_URI],
    postLogoutRedirectUris: [RP_POST_LOGOUT_URI],
    public: !variant.confidential,
    firstParty: variant.firstParty,
  });
  const account = await createAccount(t);
  const net = {
    [oauth.allowInsecureRequests]: true,
    ...(t.customFetch ? { [oauth.customFetch]: t.customFetch } : {}),
  };
  const issuer = new URL(t.issuer);
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { ...net, algorithm: "oidc" }),
  );
  const rp: oauth.Client = { client_id: registered.clientId };
  const auth = variant.confidential
    ? oauth.ClientSecretBasic(registered.clientSecret as string)
    : oauth.None();

  const authorize = async (browser: Browser, par: boolean, consent: boolean) => {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const params = new URLSearchParams({
      client_id: rp.client_id,
      redirect_uri: RP_REDIRECT_URI,
      response_type: "code",
      scope: "openid email offline_access",
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    const url = new URL(as.authorization_endpoint as string);
    if (par) {
      const pushed = await oauth.processPushedAuthorizationResponse(
        as,
        rp,
        await oauth.pushedAuthorizationRequest(as, rp, auth, params, net),
      );
      expect(pushed.request_uri).toMatch(/^urn:ietf:params:oauth:request_uri:/);
      expect(pushed.expires_in).toBeGreaterThan(0);
      url.searchParams.set("client_id", rp.client_id);
      url.searchParams.set("request_uri", pushed.request_uri);
    } else {
      for (const [k, v] of params) url.searchParams.set(k, v);
    }
    const start = await browser.navigate(url.toString());
    const callback =
      start.kind === "left" ? start.url : await signInAndReturn(browser, start, account, consent);
    const callbackParams = oauth.validateAuthResponse(as, rp, callback, state);
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      rp,
      auth,
      callbackParams,
      RP_REDIRECT_URI,
      verifier,
      net,
    );
    const tokens = await oauth.processAuthorizationCodeResponse(as, rp, response, {
      expectedNonce: nonce,
      requireIdToken: true,
    });
    await oauth.validateApplicationLevelSignature(as, response, net);
    return { tokens, start, nonce };
  };

  const browser = new Browser({ [t.issuer]: t.fetch });
  const first = await authorize(browser, true, !variant.firstParty);
  const claims = oauth.getValidatedIdTokenClaims(first.tokens);
  if (!claims) throw new Error("no ID token claims");
  expect(claims).toMatchObject({
    iss: t.issuer,
    aud: registered.clientId,
    nonce: first.nonce,
    email: account.email,
  });
  expect(decodeProtectedHeader(first.tokens.id_token as string).alg).toBe("RS256");
  expect(first.tokens.refresh_token).toEqual(expect.any(String));
  expect(decodeJwt(first.tokens.access_token).client_id).toBe(registered.clientId);

  const second = await authorize(browser, false, false);
  expect(second.start.kind).toBe("left");
  expect(oauth.getValidatedIdTokenClaims(second.tokens)?.sub).toBe(claims.sub);

  const userinfo = await oauth.processUserInfoResponse(
    as,
    rp,
    claims.sub,
    await oauth.userInfoRequest(as, rp, first.tokens.access_token, net),
  );
  expect(userinfo).toMatchObject({ sub: claims.sub, email: account.email });

  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    rp,
    await oauth.refreshTokenGrantRequest(as, rp, auth, first.tokens.refresh_token as string, net),
  );
  expect(refreshed.refresh_token).toEqual(expect.any(String));
  expect(refreshed.refresh_token).not.toBe(first.tokens.refresh_token);

  const logoutState = oauth.generateRandomState();
  const endSession = new URL(as.end_session_endpoint as string);
  endSession.searchParams.set("id_token_hint", first.tokens.id_token as string);
  endSession.searchParams.set("post_logout_redirect_uri", RP_POST_LOGOUT_URI);
  endSession.searchParams.set("state", logoutState);
  await logOut(browser, endSession, logoutState);

  const state = oauth.generateRandomState();
  const silent = new URL(as.authorization_endpoint as string);
  for (const [k, v] of Object.entries({
    client_id: rp.client_id,
    redirect_uri: RP_REDIRECT_URI,
    response_type: "code",
    scope: "openid",
    code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
    code_challenge_method: "S256",
    state,
    prompt: "none",
  })) {
    silent.searchParams.set(k, v);
  }
  const answer = await browser.navigate(silent.toString());
  expect(answer.kind, JSON.stringify(answer)).toBe("left");
  if (answer.kind !== "left") throw new Error("still on the issuer");
  let refused: unknown;
  try {
    oauth.validateAuthResponse(as, rp, answer.url, state);
  } catch (error) {
    refused = error;
  }
  expect(refused).toBeInstanceOf(oauth.AuthorizationResponseError);
  expect((refused as oauth.AuthorizationResponseError).error).toBe("login_required");

  return { clientId: registered.clientId, claims, browser };
}

/**
 * `max_age=0` with the server's real clock (OIDC Core §3.1.2.1: the user must authenticate
 * now): the sign-in page every time, and the sign-in it asks for completes the request
 * (the time between signing in and issuing the code must not count against it).
 */
export async function maxAgeZeroFlow(t: RpTarget) {
  const registered = await t.registerClient({
    name: "openid-client max_age",
    redirectUris: [RP_REDIRECT_URI],
    postLogoutRedirectUris: [RP_POST_LOGOUT_URI],
    public: true,
    firstParty: true,
  });
  const account = await createAccount(t);
  const config = await client.discovery(
    new URL(t.issuer),
    registered.clientId,
    undefined,
    client.None(),
    {
      execute: [client.allowInsecureRequests],
      ...(t.customFetch ? { [client.customFetch]: t.customFetch } : {}),
    },
  );
  const browser = new Browser({ [t.issuer]: t.fetch });
  let previousAuthTime = 0;
  for (let round = 0; round < 2; round++) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: RP_REDIRECT_URI,
      scope: "openid",
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      max_age: "0",
    });
    const start = await browser.navigate(url.toString());
    // Signed in or not, max_age=0 asks again.
    expect(start.kind).toBe("page");
    const callback = await signInAndReturn(browser, start, account, false);
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      maxAge: 0,
      idTokenExpected: true,
    });
    const authTime = tokens.claims()?.auth_time as number;
    expect(authTime).toBeGreaterThanOrEqual(previousAuthTime);
    previousAuthTime = authTime;
  }
}
