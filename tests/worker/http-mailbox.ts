import { inject } from "vitest";
import type {
  HttpMailbox,
  HttpMailboxOptions,
  Refusal,
  SinkMail,
} from "../harness/mail-sink-protocol.ts";

type Summary = { pending: number; accepted: number; held: number; refused: Refusal[] };

/** Opens a mailbox on the sink: its id's URL and the env that routes a harness's mail to it. */
async function openSinkBox(options: HttpMailboxOptions) {
  const sink = inject("mailSinkUrl");
  const opened = await call<{ id: string; env: Record<string, string> }>(`${sink}/mailboxes`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(options),
  });
  const url = `${sink}/mailboxes/${opened.id}`;
  return {
    url,
    env: opened.env,
    summary: (to?: string) => call<Summary>(to ? `${url}?${new URLSearchParams({ to })}` : url),
    remove: async () => {
      await (await fetch(url, { method: "DELETE" })).body?.cancel();
    },
  };
}

/**
 * A mailbox on the HTTP mail sink that tests/worker/mail-sink.global-setup.ts runs in the
 * Vitest process, read from inside workerd over fetch (the sink's API is listed in
 * tests/harness/mail-sink-protocol.ts). Each mailbox has its own id, secret or API key, so
 * test files running side by side share the sink without seeing each other's mail.
 */
export async function openWorkerMailbox(options: HttpMailboxOptions): Promise<HttpMailbox> {
  const box = await openSinkBox(options);
  return {
    via: options.via,
    env: box.env,
    async next(to, { timeoutMs = 5000 } = {}) {
      const query = new URLSearchParams({ to, take: "1", wait: String(timeoutMs) });
      const { messages } = await call<{ messages: SinkMail[] }>(`${box.url}/messages?${query}`);
      const [mail] = messages;
      if (mail) return mail;
      const refused = (await box.summary()).refused
        .map((r) => `${r.status} ${r.reason}`)
        .join("; ");
      throw new Error(
        `no message to ${to.toLowerCase()} within ${timeoutMs} ms (${options.via}` +
          `${refused ? `; the sink refused: ${refused}` : ""})`,
      );
    },
    async pending(to) {
      // Let deliveries in flight land first, as the SMTP mailbox does.
      await new Promise((resolve) => setTimeout(resolve, 300));
      return (await box.summary(to)).pending;
    },
    async deliveries() {
      const { accepted, refused } = await box.summary();
      return { accepted, refused };
    },
    close: box.remove,
  };
}

/**
 * A webhook receiver that takes each delivery and never answers, until `release` drops the
 * held connections (and refuses later ones), so the sends fail: for showing that no answer
 * waits for a send.
 */
export async function openWorkerStalledWebhook(): Promise<{
  env: Record<string, string>;
  accepted(count: number): Promise<void>;
  release(): Promise<void>;
}> {
  const box = await openSinkBox({ via: "webhook", stall: true });
  let released: Promise<void> | undefined;
  return {
    env: box.env,
    async accepted(count) {
      const deadline = Date.now() + 10_000;
      while ((await box.summary()).held < count) {
        if (Date.now() > deadline) throw new Error(`fewer than ${count} deliveries held`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    release() {
      released ??= (async () => {
        await (await fetch(`${box.url}/release`, { method: "POST" })).body?.cancel();
        await box.remove();
      })();
      return released;
    },
  };
}

async function call<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`mail sink: ${init?.method ?? "GET"} ${url} → ${res.status}`);
  return (await res.json()) as T;
}
