import { inject } from "vitest";
import type {
  HttpMailbox,
  HttpMailboxOptions,
  Refusal,
  SinkMail,
} from "../harness/mail-sink-protocol.ts";

/**
 * A mailbox on the HTTP mail sink that tests/worker/mail-sink.global-setup.ts runs in the
 * Vitest process, read from inside workerd over fetch (the sink's API is listed in
 * tests/harness/mail-sink-protocol.ts). Each mailbox has its own id, secret or API key, so
 * test files running side by side share the sink without seeing each other's mail.
 */
export async function openWorkerMailbox(options: HttpMailboxOptions): Promise<HttpMailbox> {
  const sink = inject("mailSinkUrl");
  const opened = await call<{ id: string; env: Record<string, string> }>(`${sink}/mailboxes`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(options),
  });
  const box = `${sink}/mailboxes/${opened.id}`;
  const summary = () => call<{ pending: number; accepted: number; refused: Refusal[] }>(box);
  return {
    via: options.via,
    env: opened.env,
    async next(to, { timeoutMs = 5000 } = {}) {
      const query = new URLSearchParams({ to, take: "1", wait: String(timeoutMs) });
      const { messages } = await call<{ messages: SinkMail[] }>(`${box}/messages?${query}`);
      const [mail] = messages;
      if (mail) return mail;
      const refused = (await summary()).refused.map((r) => `${r.status} ${r.reason}`).join("; ");
      throw new Error(
        `no message to ${to.toLowerCase()} within ${timeoutMs} ms (${options.via}` +
          `${refused ? `; the sink refused: ${refused}` : ""})`,
      );
    },
    async pending(to) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return (await call<{ pending: number }>(`${box}?${new URLSearchParams({ to })}`)).pending;
    },
    async deliveries() {
      const { accepted, refused } = await summary();
      return { accepted, refused };
    },
    async close() {
      await (await fetch(box, { method: "DELETE" })).body?.cancel();
    },
  };
}

async function call<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`mail sink: ${init?.method ?? "GET"} ${url} → ${res.status}`);
  return (await res.json()) as T;
}
