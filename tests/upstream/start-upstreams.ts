/**
 * Starts every upstream server the social sign-in tests use, with clients whose redirect URIs
 * are Tessera's callbacks (`${tesseraIssuer}/oauth/callback/<name>` for each UPSTREAM_NAMES):
 *
 * - a generic OpenID Provider (oidc-provider) at the origin's root;
 * - a Microsoft-shaped one (the tenant under `/<tenant>/v2.0`, `/common/v2.0` discovery);
 * - the Apple-like server (services id + bundle id; the developer key as a .p8 file);
 * - the GitHub-like server.
 *
 * `info` is plain JSON: the Node tests use it directly, the workers project provides it to
 * workerd (tests/worker/upstream.global-setup.ts).
 */
import { type RunningApple, startAppleServer } from "./apple-server.ts";
import { type RunningGithub, startGithubServer } from "./github-server.ts";
import { type RunningOp, startOidcOp } from "./oidc-op.ts";
import { UPSTREAM_NAMES, type UpstreamsInfo } from "./protocol.ts";

export type RunningUpstreams = {
  info: UpstreamsInfo;
  op: RunningOp;
  microsoft: RunningOp;
  apple: RunningApple;
  github: RunningGithub;
  close(): Promise<void>;
};

export async function startUpstreams(options: {
  tesseraIssuer: string;
  /** The hostname in the servers' URLs (default 127.0.0.1; they listen on 127.0.0.1). */
  hostname?: string;
}): Promise<RunningUpstreams> {
  const { tesseraIssuer } = options;
  const callbacks = UPSTREAM_NAMES.map((name) => `${tesseraIssuer}/oauth/callback/${name}`);
  const secret = () => crypto.randomUUID();
  const where = { host: "127.0.0.1", hostname: options.hostname ?? "127.0.0.1" };
  const opClient = { clientId: "tessera-web", clientSecret: secret(), redirectUris: callbacks };
  const opOther = { clientId: "tessera-android", clientSecret: secret(), redirectUris: callbacks };
  const started: Array<{ close(): Promise<void> }> = [];
  try {
    const op = await startOidcOp({ clients: [opClient, opOther], ...where });
    started.push(op);
    const tenantId = "9188040d-6c67-4c5b-b112-36a304b66dad";
    const microsoft = await startOidcOp({ clients: [opClient, opOther], tenantId, ...where });
    started.push(microsoft);
    const apple = await startAppleServer({
      clients: [{ clientId: "com.example.tessera.web", redirectUris: callbacks }],
      bundleId: "com.example.tessera",
      ...where,
    });
    started.push(apple);
    const githubClient = { clientId: "Iv1.tessera", clientSecret: secret() };
    const github = await startGithubServer({
      clients: [{ ...githubClient, callbackUrls: [`${tesseraIssuer}/oauth/callback`] }],
      ...where,
    });
    started.push(github);
    const opInfo = (running: RunningOp) => ({
      issuer: running.issuer,
      control: running.origin,
      privateJwk: running.privateJwk,
      client: { clientId: opClient.clientId, clientSecret: opClient.clientSecret },
      otherClient: { clientId: opOther.clientId, clientSecret: opOther.clientSecret },
    });
    const info: UpstreamsInfo = {
      tesseraIssuer,
      op: opInfo(op),
      microsoft: {
        ...opInfo(microsoft),
        tenantId,
        commonIssuer: `${microsoft.origin}/common/v2.0`,
      },
      apple: {
        issuer: apple.issuer,
        control: apple.origin,
        teamId: apple.teamId,
        keyId: apple.keyId,
        clientId: apple.clientId,
        bundleId: apple.bundleId,
        privateKeyPem: apple.privateKeyPem,
        signingJwk: apple.signingJwk,
      },
      github: {
        issuer: github.issuer,
        apiUrl: github.apiUrl,
        control: github.origin,
        client: githubClient,
      },
    };
    return {
      info,
      op,
      microsoft,
      apple,
      github,
      close: async () => {
        await Promise.all(started.map((s) => s.close()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((s) => s.close()));
    throw error;
  }
}
