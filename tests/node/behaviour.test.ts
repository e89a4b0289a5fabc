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
import { createNodeHarness } from "../harness/node.ts";

// The shared behavioural suite, against the Node app over a libSQL temp file.
authCases(createNodeHarness);
accessTokenCases(createNodeHarness);
refreshCases(createNodeHarness);
sessionCases(createNodeHarness);
httpCases(createNodeHarness);
oauthClientCases(createNodeHarness);
revokeIntrospectCases(createNodeHarness);
keyCases(createNodeHarness);
verifierCases(createNodeHarness);
dbErrorCases(createNodeHarness);
groupCommitCases(createNodeHarness);
batchedUserReadCases(createNodeHarness);
