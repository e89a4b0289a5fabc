import { createNodeHarness } from "../harness/node.ts";
import { abuseCases } from "../security/abuse.cases.ts";
import { cookieCorsEventCases } from "../security/cookies-cors-events.cases.ts";
import { passwordCases } from "../security/passwords.cases.ts";

abuseCases(createNodeHarness);
passwordCases(createNodeHarness);
cookieCorsEventCases(createNodeHarness);
