import { type AddressInfo, createServer } from "node:net";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { linkAndCode, type Mailbox, type ReceivedMail } from "./mailbox.ts";

/**
 * A real SMTP server on a loopback port (`smtp-server`), parsing what it receives with
 * `mailparser`; the harness sends to it through its nodemailer transport
 * (`EMAIL_TRANSPORT=smtp://127.0.0.1:<port>`).
 */
export async function openSmtpMailbox(): Promise<Mailbox> {
  const inbox: ReceivedMail[] = [];
  const waiters: Array<{ to: string; resolve: (mail: ReceivedMail) => void }> = [];
  const deliver = (mail: ReceivedMail) => {
    const i = waiters.findIndex((w) => w.to === mail.to);
    if (i >= 0) waiters.splice(i, 1)[0]?.resolve(mail);
    else inbox.push(mail);
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const text = parsed.text ?? "";
          for (const rcpt of session.envelope.rcptTo) {
            deliver({
              to: rcpt.address.toLowerCase(),
              from: parsed.from?.text ?? "",
              subject: parsed.subject ?? "",
              text,
              html: typeof parsed.html === "string" ? parsed.html : "",
              ...linkAndCode(text),
            });
          }
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    env: { EMAIL_TRANSPORT: `smtp://127.0.0.1:${port}` },
    next(to, { timeoutMs = 5000 } = {}) {
      const address = to.toLowerCase();
      const i = inbox.findIndex((m) => m.to === address);
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0] as ReceivedMail);
      return new Promise((resolve, reject) => {
        const waiter = { to: address, resolve };
        waiters.push(waiter);
        setTimeout(() => {
          const at = waiters.indexOf(waiter);
          if (at >= 0) {
            waiters.splice(at, 1);
            reject(new Error(`no message to ${address} within ${timeoutMs} ms`));
          }
        }, timeoutMs).unref();
      });
    },
    async pending(to) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return inbox.filter((m) => m.to === to.toLowerCase()).length;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
