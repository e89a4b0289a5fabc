// Refresh tokens from the OpenAuth peer through its own flow: GET /authorize (PKCE S256) →
// the instant provider → a code on the redirect → POST /token (authorization_code).
import { createHash, randomBytes } from "node:crypto";

const CLIENT_ID = "bench";
const REDIRECT_URI = "http://127.0.0.1/callback";

const cookiesOf = (res) =>
  res.headers
    .getSetCookie()
    .map((cookie) => cookie.split(";")[0])
    .join("; ");

/** One sign-in of `user` through OpenAuth's code flow; returns its token response. */
export async function openAuthSignIn(url, user) {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const state = randomBytes(8).toString("hex");
  const authorize = new URL("/authorize", url);
  for (const [name, value] of Object.entries({
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    response_type: "code",
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  })) {
    authorize.searchParams.set(name, value);
  }
  const started = await fetch(authorize, { redirect: "manual" });
  const providerUrl = new URL(started.headers.get("Location") ?? "", url);
  if (started.status !== 302 || providerUrl.pathname !== "/instant/authorize") {
    throw new Error(`openauth /authorize answered ${started.status}`);
  }
  // The provider's route takes the user from the query (the issuer's redirect has none).
  providerUrl.searchParams.set("user", user);
  const done = await fetch(providerUrl, {
    redirect: "manual",
    headers: { Cookie: cookiesOf(started) },
  });
  const callback = new URL(done.headers.get("Location") ?? "", url);
  const code = callback.searchParams.get("code");
  if (done.status !== 302 || !code || callback.searchParams.get("state") !== state) {
    throw new Error(`openauth provider answered ${done.status} without a code`);
  }
  const res = await fetch(new URL("/token", url), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: REDIRECT_URI,
      client_id: CLIENT_ID,
      code_verifier: verifier,
    }).toString(),
  });
  if (!res.ok) throw new Error(`openauth /token answered ${res.status}: ${await res.text()}`);
  const tokens = await res.json();
  if (typeof tokens.refresh_token !== "string") throw new Error("openauth gave no refresh token");
  return tokens;
}

/** Refresh tokens of `n` fresh OpenAuth sessions, one user each. */
export async function openAuthRefreshTokens(url, n) {
  const tokens = [];
  for (let i = 0; i < n; i++) tokens.push((await openAuthSignIn(url, `user-${i}`)).refresh_token);
  return tokens;
}
