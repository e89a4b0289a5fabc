import { verifySdkCases } from "../cases/verify-sdk.cases.ts";
import { createWorkerHarness } from "../harness/worker.ts";

// The verifier SDK's suite (the built @tessera/verify) against the app over D1 inside
// workerd; tests/node/verify.test.ts runs the same cases on Node.
verifySdkCases(createWorkerHarness);
