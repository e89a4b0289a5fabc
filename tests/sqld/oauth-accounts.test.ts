import { accountEmailCases } from "../cases/account-email.cases.ts";
import { oauthCases } from "../cases/oauth.cases.ts";
import { sqldHarnessPerFile } from "../harness/node-sqld.ts";
import { openSmtpMailbox } from "../harness/smtp-mailbox.ts";

// The authorization-code flow and the accounts-and-email flows over sqld (mail through a real
// SMTP server, as on Node).
const { harness } = sqldHarnessPerFile();
oauthCases(harness);
accountEmailCases(harness, openSmtpMailbox, { deadTransport: "smtp://127.0.0.1:1" });
