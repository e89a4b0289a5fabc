import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { json, PASSWORD, uniqueEmail } from "../cases/helpers.ts";
import { mailTransportCases } from "../cases/mail-transport.cases.ts";
import { openHttpMailbox } from "../harness/http-mailbox.ts";
import { createNodeHarness } from "../harness/node.ts";
import { openHarness } from "../harness/open.ts";
import { tempDir } from "../harness/temp-dir.ts";

// The HTTP transports from Node, to a mail sink this process runs and reads directly.
mailTransportCases(createNodeHarness, openHttpMailbox);

describe("the documented webhook receiver (docs/design/accounts.md#webhook-transport)", () => {
  it("its snippet, run as written, accepts a real delivery and refuses a tampered or stale one", async () => {
    const doc = await readFile(new URL("../../docs/design/accounts.md", import.meta.url), "utf8");
    const snippet = [...doc.matchAll(/```js\n([\s\S]*?)```/g)]
      .map((m) => m[1] as string)
      .find((code) => code.includes("tessera/v1/email-webhook-signature"));
    expect(snippet, "a js block deriving the webhook key").toBeDefined();

    const mailbox = await openHttpMailbox({ via: "webhook" });
    onTestFinished(() => mailbox.close());
    const h = await openHarness(createNodeHarness, {
      ...mailbox.env,
      EMAIL_VERIFICATION: "optional",
    });
    const email = uniqueEmail("documented");
    expect((await h.request("/v1/signup", json({ email, password: PASSWORD }))).status).toBe(201);
    const mail = await mailbox.next(email);
    const rawBody = mail.rawBody as string;
    const header = mail.signature as string;

    // The snippet reads TESSERA_SECRET when it loads: load it as a module of its own.
    const dir = await tempDir("tessera-webhook-receiver-");
    const file = join(dir, "receiver.mjs");
    await writeFile(file, `${snippet}\nexport { verify };\n`);
    const saved = process.env.TESSERA_SECRET;
    process.env.TESSERA_SECRET = mailbox.env.TESSERA_SECRET;
    onTestFinished(() => {
      if (saved === undefined) delete process.env.TESSERA_SECRET;
      else process.env.TESSERA_SECRET = saved;
    });
    const { verify } = (await import(pathToFileURL(file).href)) as {
      verify(rawBody: string, header: string, nowS?: number): boolean;
    };

    const t = Number(/^t=(\d+),/.exec(header)?.[1]);
    expect(verify(rawBody, header)).toBe(true);
    expect(verify(rawBody.replace(mail.code as string, "000000"), header)).toBe(false);
    expect(verify(rawBody, header.replace(`t=${t}`, `t=${t + 1}`))).toBe(false);
    expect(verify(rawBody, header, t + 301)).toBe(false);
    expect(verify(rawBody, `t=${t}`)).toBe(false);
  });
});
