import { oauthCases } from "../cases/oauth.cases.ts";
import { createWorkerHarness } from "../harness/worker.ts";

// The authorization-code flow's protocol edges, against the app over D1 inside workerd.
oauthCases(createWorkerHarness);
