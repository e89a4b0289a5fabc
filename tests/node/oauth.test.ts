import { oauthCases } from "../cases/oauth.cases.ts";
import { createNodeHarness } from "../harness/node.ts";

// The authorization-code flow's protocol edges, against the Node app over a libSQL temp file.
oauthCases(createNodeHarness);
