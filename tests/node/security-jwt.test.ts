import { createNodeHarness } from "../harness/node.ts";
import { httpHardeningCases } from "../security/http-hardening.cases.ts";
import { jwtAttackCases } from "../security/jwt-attacks.cases.ts";

// The security suite (JWT attacks, HTTP hardening) against the Node app over libSQL.
jwtAttackCases(createNodeHarness);
httpHardeningCases(createNodeHarness);
