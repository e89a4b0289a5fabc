import type { TestProject } from "vitest/node";
import type { UpstreamsInfo } from "../upstream/protocol.ts";
import { startUpstreams } from "../upstream/start-upstreams.ts";

declare module "vitest" {
  interface ProvidedContext {
    /**
     * The upstream identity providers' URLs, client credentials and signing keys (the OP's
     * private JWK, Apple's developer key and id_token key), for tests inside workerd.
     */
    upstreams: UpstreamsInfo;
  }
}

/**
 * Starts the upstream servers of the social sign-in tests in the Vitest process (Node) for
 * the workers project: oidc-provider (generic and Microsoft-shaped), the Apple-like and the
 * GitHub-like server, their clients' redirect URIs on the worker harness's issuer (the
 * default, http://localhost:8787). Tests in workerd reach them over fetch on 127.0.0.1, and
 * Tessera inside workerd calls them the same way.
 */
export default async function setup(project: TestProject) {
  const upstreams = await startUpstreams({ tesseraIssuer: "http://localhost:8787" });
  project.provide("upstreams", upstreams.info);
  return () => upstreams.close();
}
