import { sqldHarnessPerFile } from "../harness/node-sqld.ts";
import { abuseCases } from "../security/abuse.cases.ts";
import { cookieCorsEventCases } from "../security/cookies-cors-events.cases.ts";
import { passwordCases } from "../security/passwords.cases.ts";

// The security suite's database-backed parts over sqld: per-IP rate limits and sign-in delays
// (UPSERT … RETURNING over Hrana), the password rules, cookies, CORS and auth events.
const { harness } = sqldHarnessPerFile();
abuseCases(harness);
passwordCases(harness);
cookieCorsEventCases(harness);
