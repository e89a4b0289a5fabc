/**
 * Whether `requested` is one of the client's registered redirect URIs: exact string match
 * (OAuth 2.1 §2.3.1; RFC 9700 §2.1), except that a registered loopback URI
 * (`http://127.0.0.1/…` or `http://[::1]/…`) matches any port (RFC 8252 §7.3: native apps
 * listen on an ephemeral port). Private-use schemes (`com.example.app:/cb`, RFC 8252 §7.1)
 * match exactly like any other URI. `localhost` is not special (RFC 8252 §8.3).
 */
export function redirectUriMatches(registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  const asked = loopback(requested);
  if (!asked) return false;
  return registered.some((uri) => {
    const known = loopback(uri);
    return known !== undefined && known === asked;
  });
}

/** A loopback redirect URI without its port, or undefined. */
function loopback(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" || !["127.0.0.1", "[::1]"].includes(url.hostname)) {
    return undefined;
  }
  if (url.username || url.password || url.hash) return undefined;
  return `${url.hostname}${url.pathname}${url.search}`;
}

/**
 * A redirect URI a client may register: absolute, no fragment (RFC 6749 §3.1.2); https, a
 * loopback http URI, or a private-use scheme with a dot in it (RFC 8252 §7.1, reverse domain).
 */
export function isRegistrableRedirectUri(uri: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (url.hash) return false;
  if (url.protocol === "https:") return true;
  if (url.protocol === "http:") {
    return ["127.0.0.1", "[::1]", "localhost"].includes(url.hostname);
  }
  const scheme = url.protocol.slice(0, -1);
  return scheme.includes(".") && !["javascript", "data", "vbscript", "file"].includes(scheme);
}
