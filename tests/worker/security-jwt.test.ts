import { createWorkerHarness } from "../harness/worker.ts";
import { httpHardeningCases } from "../security/http-hardening.cases.ts";
import { jwtAttackCases } from "../security/jwt-attacks.cases.ts";

// The security suite (JWT attacks, HTTP hardening) against the app over D1 inside workerd.
jwtAttackCases(createWorkerHarness);
httpHardeningCases(createWorkerHarness);
