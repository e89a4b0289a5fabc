import { type AddressInfo, createServer, type Socket } from "node:net";
import { SMTPServer } from "smtp-server";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  accountEmailCases,
  type StalledTransport,
  waitForLog,
} from "../cases/account-email.cases.ts";
import { json, PASSWORD, uniqueEmail } from "../cases/helpers.ts";
import { createNodeHarness } from "../harness/node.ts";
import { openHarness } from "../harness/open.ts";
import { openSmtpMailbox } from "../harness/smtp-mailbox.ts";

/**
 * A mail server that accepts connections and never sends its greeting: nodemailer waits for
 * it (its greeting timeout is 30 s) until `release` drops the connections.
 */
async function openStalledSmtp(): Promise<StalledTransport> {
  const sockets: Socket[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    for (const w of waiters.filter((w) => sockets.length >= w.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  let released: Promise<void> | undefined;
  return {
    env: { EMAIL_TRANSPORT: `smtp://127.0.0.1:${port}` },
    accepted: (count) =>
      sockets.length >= count
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ count, resolve })),
    release: () => {
      released ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return released;
    },
  };
}

// The accounts-and-email flows on Node, mail through a real SMTP server (smtp-server).
accountEmailCases(createNodeHarness, openSmtpMailbox, {
  deadTransport: "smtp://127.0.0.1:1",
  stalledTransport: openStalledSmtp,
});

describe("accounts and email: SMTP refusals (Node)", () => {
  it("a refused recipient changes no answer and its address stays out of the email_failed line", async () => {
    // Refuses every recipient the way Postfix does, echoing the address.
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      logger: false,
      onRcptTo(address, _session, callback) {
        const refusal = Object.assign(
          new Error(`5.1.1 <${address.address}>: Recipient address rejected: User unknown`),
          { responseCode: 550 },
        );
        callback(refusal);
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.server.address() as AddressInfo;
    const h = await openHarness(createNodeHarness, {
      EMAIL_TRANSPORT: `smtp://127.0.0.1:${port}`,
      EMAIL_VERIFICATION: "off",
    });
    const email = uniqueEmail("refused");
    expect((await h.request("/v1/signup", json({ email, password: PASSWORD }))).status).toBe(201);
    const forgot = await h.request("/v1/password/forgot", json({ email }));
    expect(forgot.status).toBe(202);
    expect(await forgot.text()).toBe("{}");
    const failed = await waitForLog(
      h,
      (e) => e.event === "email_failed" && e.request_id === forgot.headers.get("X-Request-Id"),
    );
    expect(failed.code).toBe("EENVELOPE");
    expect(String(failed.error)).toContain("Recipient address rejected");
    expect(h.logs.join("\n")).not.toContain(email);
  });
});
