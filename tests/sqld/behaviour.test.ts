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
import { sqldHarnessPerFile } from "../harness/node-sqld.ts";

// The shared behavioural suite a third time: the Node app over a libSQL server (sqld), opened at
// DATABASE_URL=http://127.0.0.1:<port> by the production opener.
const { harness } = sqldHarnessPerFile();
authCases(harness);
accessTokenCases(harness);
refreshCases(harness);
sessionCases(harness);
httpCases(harness);
oauthClientCases(harness);
revokeIntrospectCases(harness);
keyCases(harness);
verifierCases(harness);
dbErrorCases(harness);
groupCommitCases(harness);
batchedUserReadCases(harness);
