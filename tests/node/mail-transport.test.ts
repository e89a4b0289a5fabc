import { mailTransportCases } from "../cases/mail-transport.cases.ts";
import { openHttpMailbox } from "../harness/http-mailbox.ts";
import { createNodeHarness } from "../harness/node.ts";

// The HTTP transports from Node, to a mail sink this process runs and reads directly.
mailTransportCases(createNodeHarness, openHttpMailbox);
