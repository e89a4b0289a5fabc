import { afterAll, beforeAll } from "vitest";
import { socialCases } from "../cases/social.cases.ts";
import { createNodeHarness } from "../harness/node.ts";
import { type RunningUpstreams, startUpstreams } from "../upstream/start-upstreams.ts";

// Social sign-in against real upstream servers on loopback ports (oidc-provider, the
// Apple-like and GitHub-like servers), with the Node app over a libSQL temp file. The
// harness's issuer is the default (http://localhost:8787): the upstream clients' redirect
// URIs are its callbacks.
let upstreams: RunningUpstreams | undefined;

beforeAll(async () => {
  upstreams = await startUpstreams({ tesseraIssuer: "http://localhost:8787" });
});
afterAll(async () => {
  await upstreams?.close();
});

socialCases(createNodeHarness, () => {
  if (!upstreams) throw new Error("upstream servers not started");
  return upstreams.info;
});
