import { accessTokenCases } from "../cases/access-token.cases.ts";
import { authCases } from "../cases/auth.cases.ts";
import { batchedUserReadCases } from "../cases/batched-user-reads.cases.ts";
import { dbErrorCases } from "../cases/db-errors.cases.ts";
import { groupCommitCases } from "../cases/group-commit.cases.ts";
import { httpCases } from "../cases/http.cases.ts";
import { keyCases } from "../cases/keys.cases.ts";
import { oauthClientCases } from "../cases/oauth-clients.cases.ts";
import { refreshCases } from "../cases/refresh.cases.ts";
import { revokeIntrospectCases } from "../cases/revoke-introspect.cases.ts";
import { sessionCases } from "../cases/sessions.cases.ts";
import { verifierCases } from "../cases/verifier.cases.ts";
import { createWorkerHarness } from "../harness/worker.ts";

// The shared behavioural suite, against the app over D1 inside workerd.
authCases(createWorkerHarness);
accessTokenCases(createWorkerHarness);
refreshCases(createWorkerHarness);
sessionCases(createWorkerHarness);
httpCases(createWorkerHarness);
oauthClientCases(createWorkerHarness);
revokeIntrospectCases(createWorkerHarness);
keyCases(createWorkerHarness);
verifierCases(createWorkerHarness);
dbErrorCases(createWorkerHarness);
groupCommitCases(createWorkerHarness);
batchedUserReadCases(createWorkerHarness);
