import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { randomSecret } from "../../src/lib/random-id.ts";
import worker from "../../src/worker.ts";
import { json, PASSWORD, uniqueEmail } from "../cases/helpers.ts";
import { mailTransportCases } from "../cases/mail-transport.cases.ts";
import { createWorkerHarness } from "../harness/worker.ts";
import { openWorkerMailbox } from "./http-mailbox.ts";

// The HTTP transports from inside workerd, to the mail sink the Vitest process runs.
mailTransportCases(createWorkerHarness, openWorkerMailbox);

async function callWorker(path: string, init: RequestInit, vars: Record<string, string>) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://localhost${path}`, init) as Request<unknown, IncomingRequestCfProperties>,
    { ...env, LOG_LEVEL: "silent", SCRYPT_LN: "10", ...vars },
    ctx,
  );
  // Waits for what the Worker handed to waitUntil: here, the mail send.
  await waitOnExecutionContext(ctx);
  return res;
}

describe("mail on the Worker entry (src/worker.ts)", () => {
  // The harness cases above left signing keys encrypted under their own secrets in this
  // file's D1; the entry, with another secret, could not decrypt them.
  beforeEach(async () => {
    await env.DB.prepare("DELETE FROM signing_keys").run();
  });

  it("the webhook send runs in waitUntil: it has arrived once the execution context is done", async () => {
    const mailbox = await openWorkerMailbox({ via: "webhook" });
    onTestFinished(() => mailbox.close());
    const email = uniqueEmail("entry-webhook");
    const res = await callWorker("/v1/signup", json({ email, password: PASSWORD }), {
      ...mailbox.env,
      EMAIL_VERIFICATION: "optional",
    });
    expect(res.status).toBe(201);
    // No waiting at the sink: the send finished inside waitUntil.
    const mail = await mailbox.next(email, { timeoutMs: 0 });
    expect(mail).toMatchObject({ via: "webhook", kind: "verify_email", to: email });
    expect(mail.code).toMatch(/^\d{6}$/);
  });

  it("EMAIL_TRANSPORT=smtp://… fails start-up: the Worker answers 500 'Service is not configured' and logs the variable", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    onTestFinished(() => spy.mockRestore());
    const res = await callWorker(
      "/healthz",
      {},
      {
        TESSERA_SECRET: randomSecret(),
        EMAIL_TRANSPORT: "smtp://127.0.0.1:2525",
      },
    );
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      error: "server_error",
      error_description: "Service is not configured",
    });
    const failure = lines.map((l) => JSON.parse(l)).find((l) => l.event === "startup_failed");
    expect(failure).toMatchObject({
      request_id: res.headers.get("X-Request-Id"),
      error: expect.stringContaining("ConfigError: Invalid configuration: EMAIL_TRANSPORT"),
      code: "ERR_CONFIG",
    });
  });

  it("the Workers harness (no SMTP transport) refuses EMAIL_TRANSPORT=smtp://… at start", async () => {
    await expect(
      createWorkerHarness({ EMAIL_TRANSPORT: "smtps://user:pass@smtp.example.com:465" }),
    ).rejects.toMatchObject({ name: "ConfigError", variable: "EMAIL_TRANSPORT" });
  });
});
