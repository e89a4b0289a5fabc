import { accountEmailCases } from "../cases/account-email.cases.ts";
import { createWorkerHarness } from "../harness/worker.ts";
import { openWorkerMailbox, openWorkerStalledWebhook } from "./http-mailbox.ts";

// The accounts-and-email flows inside workerd over D1, mail through the signed webhook
// transport to the HTTP mail sink the Vitest process runs (Workers have no SMTP).
accountEmailCases(createWorkerHarness, () => openWorkerMailbox({ via: "webhook" }), {
  // Nothing listens on port 1: each send fails at once.
  deadTransport: "webhook:http://127.0.0.1:1/",
  stalledTransport: openWorkerStalledWebhook,
});
