/**
 * A real HTTP mail sink on a loopback port (node:http), receiving what the `resend` and
 * `webhook:` transports send, checking it as the real receivers would, and keeping it for
 * tests to read: directly from Node ({@link openHttpMailbox}), or over HTTP from workerd
 * (tests/worker/http-mailbox.ts, against the sink tests/worker/mail-sink.global-setup.ts
 * starts). The HTTP API is listed in ./mail-sink-protocol.ts.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { EMAIL_KINDS } from "../../src/email/message.ts";
import { randomSecret } from "../../src/lib/random-id.ts";
import {
  type HttpMailbox,
  type HttpMailboxOptions,
  type Refusal,
  type SinkMail,
  verifyTesseraSignature,
  webhookKeyFromSecret,
} from "./mail-sink-protocol.ts";
import { linkAndCode } from "./mailbox.ts";

const MAX_BODY = 1024 * 1024;

/** One mailbox of the sink: its own secret or API key, inbox and failure mode. */
class SinkBox {
  readonly inbox: SinkMail[] = [];
  accepted = 0;
  readonly refused: Refusal[] = [];
  /** `stall`: deliveries checked and left unanswered; `released`: their connections dropped. */
  readonly held = new Set<ServerResponse>();
  released = false;
  private readonly waiters: Array<{ to: string; resolve: (mail: SinkMail) => void }> = [];

  constructor(
    readonly id: string,
    readonly options: HttpMailboxOptions,
    readonly env: Record<string, string>,
    /** webhook: the key derived from `env.TESSERA_SECRET`. */
    readonly signingKey?: Uint8Array,
  ) {}

  deliver(mail: SinkMail) {
    this.accepted++;
    const i = this.waiters.findIndex((w) => w.to === mail.to);
    if (i >= 0) this.waiters.splice(i, 1)[0]?.resolve(mail);
    else this.inbox.push(mail);
  }

  refuse(refusal: Refusal) {
    this.refused.push(refusal);
  }

  pending(to?: string) {
    return this.inbox.filter((m) => to === undefined || m.to === to.toLowerCase()).length;
  }

  /** Takes up to `limit` messages to `to` (all recipients when unset), oldest first. */
  take(to: string | undefined, limit = Number.POSITIVE_INFINITY): SinkMail[] {
    const taken: SinkMail[] = [];
    for (let i = 0; i < this.inbox.length && taken.length < limit; ) {
      const mail = this.inbox[i] as SinkMail;
      if (to === undefined || mail.to === to.toLowerCase()) {
        taken.push(mail);
        this.inbox.splice(i, 1);
      } else i++;
    }
    return taken;
  }

  /**
   * The next message to `to`, waiting up to `timeoutMs`; undefined when none came. `signal`
   * abandons the wait (a long-poll whose client went away), so no message is lost to it.
   */
  next(to: string, timeoutMs: number, signal?: AbortSignal): Promise<SinkMail | undefined> {
    const address = to.toLowerCase();
    const [ready] = this.take(address, 1);
    if (ready || timeoutMs <= 0) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const waiter = {
        to: address,
        resolve: (mail: SinkMail | undefined) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", cancel);
          resolve(mail);
        },
      };
      const cancel = () => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        waiter.resolve(undefined);
      };
      const timer = setTimeout(cancel, timeoutMs);
      signal?.addEventListener("abort", cancel);
      this.waiters.push(waiter);
    });
  }

  summary(to?: string) {
    return {
      pending: this.pending(to),
      accepted: this.accepted,
      held: this.held.size,
      refused: [...this.refused],
    };
  }

  /** `stall`: keeps the delivery unanswered (or drops it, once released); true if so. */
  stalls(res: ServerResponse): boolean {
    if (!this.options.stall) return false;
    if (this.released) {
      res.socket?.destroy();
      return true;
    }
    this.held.add(res);
    res.on("close", () => this.held.delete(res));
    return true;
  }

  release() {
    this.released = true;
    for (const res of this.held) res.socket?.destroy();
    this.held.clear();
  }

  timeoutError(to: string, timeoutMs: number) {
    const refused = this.refused.map((r) => `${r.status} ${r.reason}`).join("; ");
    return new Error(
      `no message to ${to} within ${timeoutMs} ms (${this.options.via}` +
        `${refused ? `; the sink refused: ${refused}` : ""})`,
    );
  }
}

export type MailSink = {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** A new mailbox; its `env` routes a harness's mail to it. */
  open(options: HttpMailboxOptions): Promise<SinkBox>;
  close(): Promise<void>;
};

/** Starts the sink on a free loopback port. */
export async function startMailSink(): Promise<MailSink> {
  const boxes = new Map<string, SinkBox>();
  let url = "";

  const open = async (options: HttpMailboxOptions) => {
    const id = randomUUID();
    let box: SinkBox;
    if (options.via === "webhook") {
      // The harness takes TESSERA_SECRET from its env, so the sink knows the key it signs with.
      const secret = randomSecret();
      const env = { EMAIL_TRANSPORT: `webhook:${url}/hook/${id}`, TESSERA_SECRET: secret };
      box = new SinkBox(id, options, env, await webhookKeyFromSecret(secret));
    } else {
      const env = {
        EMAIL_TRANSPORT: "resend",
        RESEND_API_KEY: `re_test_${randomUUID().replaceAll("-", "")}`,
        RESEND_API_URL: url,
      };
      box = new SinkBox(id, options, env);
    }
    boxes.set(id, box);
    return box;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: String(error) });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const requestUrl = new URL(req.url ?? "/", url);
    const [first, id, rest] = requestUrl.pathname.split("/").filter(Boolean);
    const method = req.method ?? "GET";

    if (method === "POST" && requestUrl.pathname === "/emails") return resendApi(req, res);
    if (method === "POST" && first === "hook" && id && !rest) return webhook(req, res, id);

    if (first !== "mailboxes") return send(res, 404, { error: "not_found" });
    if (method === "POST" && !id) {
      const options = JSON.parse(await readBody(req)) as HttpMailboxOptions;
      if (options.via !== "webhook" && options.via !== "resend") {
        return send(res, 400, { error: "via must be webhook or resend" });
      }
      const box = await open(options);
      return send(res, 201, { id: box.id, env: box.env });
    }
    const box = id ? boxes.get(id) : undefined;
    if (!box) return send(res, 404, { error: "no such mailbox" });
    const to = requestUrl.searchParams.get("to") ?? undefined;
    if (method === "DELETE" && !rest) {
      boxes.delete(box.id);
      res.writeHead(204).end();
      return;
    }
    if (method === "GET" && !rest) return send(res, 200, box.summary(to));
    if (method === "POST" && rest === "release") {
      box.release();
      res.writeHead(204).end();
      return;
    }
    if (method === "GET" && rest === "messages") {
      const take = Number(requestUrl.searchParams.get("take") ?? "Infinity");
      const wait = Number(requestUrl.searchParams.get("wait") ?? "0");
      let messages = box.take(to, take);
      if (messages.length === 0 && wait > 0 && to !== undefined) {
        const gone = new AbortController();
        res.on("close", () => gone.abort());
        const mail = await box.next(to, Math.min(wait, 60_000), gone.signal);
        if (gone.signal.aborted && mail) {
          // The client left after the message was handed over: keep it for the next read.
          box.inbox.unshift(mail);
          return;
        }
        messages = mail ? [mail] : [];
      }
      return send(res, 200, { messages });
    }
    return send(res, 405, { error: "method_not_allowed" });
  }

  /** `POST /emails` as Resend answers it: key, JSON shape, then `{"id"}`. */
  async function resendApi(req: IncomingMessage, res: ServerResponse) {
    const error = (status: number, name: string, message: string) =>
      send(res, status, { statusCode: status, name, message });
    const key = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!key) return error(401, "missing_api_key", "Missing API key in the authorization header");
    const box = [...boxes.values()].find((b) => b.env.RESEND_API_KEY === key);
    if (!box) return error(403, "invalid_api_key", "API key is invalid");
    const refuse = (status: number, name: string, reason: string) => {
      box.refuse({ status, reason });
      return error(status, name, reason);
    };
    if (!isJson(req)) return refuse(415, "validation_error", "expected application/json");
    const body = parseJson(await readBody(req));
    const problem = resendShapeProblem(body);
    if (problem) return refuse(422, "validation_error", problem);
    if (box.options.failWith) {
      return refuse(box.options.failWith, "application_error", "failWith");
    }
    if (box.stalls(res)) return;
    const message = body as ResendBody;
    const kind = message.tags?.find((t) => t.name === "kind")?.value;
    for (const to of message.to) {
      box.deliver({
        via: "resend",
        to: to.toLowerCase(),
        from: message.from,
        subject: message.subject,
        text: message.text,
        html: message.html,
        ...linkAndCode(message.text),
        kind,
        fields: {},
      });
    }
    return send(res, 200, { id: randomUUID() });
  }

  /** `POST /hook/:id`: `Tessera-Signature` over the raw body, then the JSON shape. */
  async function webhook(req: IncomingMessage, res: ServerResponse, id: string) {
    const box = boxes.get(id);
    if (!box?.signingKey) return send(res, 404, { error: "no such webhook mailbox" });
    const refuse = (status: number, reason: string) => {
      box.refuse({ status, reason });
      return send(res, status, { error: reason });
    };
    if (!isJson(req)) return refuse(415, "expected application/json");
    const raw = await readBody(req);
    const header = req.headers["tessera-signature"];
    const signature = Array.isArray(header) ? header.join(",") : header;
    const check = await verifyTesseraSignature(box.signingKey, signature, raw);
    if (!check.ok) return refuse(401, check.reason);
    const body = parseJson(raw);
    const problem = webhookShapeProblem(body);
    if (problem) return refuse(422, problem);
    if (box.options.failWith) return refuse(box.options.failWith, "failWith");
    if (box.stalls(res)) return;
    const message = body as WebhookBody;
    box.deliver({
      via: "webhook",
      to: message.to.toLowerCase(),
      from: message.from,
      subject: message.subject,
      text: message.text,
      html: message.html,
      ...linkAndCode(message.text),
      kind: message.kind,
      fields: {
        ...(message.link !== undefined ? { link: message.link } : {}),
        ...(message.code !== undefined ? { code: message.code } : {}),
      },
      signature,
      rawBody: raw,
    });
    return send(res, 200, {});
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    open,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A mailbox on a sink of its own, read directly (Node tests). Its `env` routes a harness's
 * mail to it: `EMAIL_TRANSPORT=webhook:http://127.0.0.1:<port>/hook/<id>` with the
 * `TESSERA_SECRET` whose derived key the sink verifies with, or `EMAIL_TRANSPORT=resend` with
 * `RESEND_API_KEY` and `RESEND_API_URL=http://127.0.0.1:<port>`.
 */
export async function openHttpMailbox(options: HttpMailboxOptions): Promise<HttpMailbox> {
  const sink = await startMailSink();
  const box = await sink.open(options);
  return {
    via: options.via,
    env: box.env,
    async next(to, { timeoutMs = 5000 } = {}) {
      const mail = await box.next(to, timeoutMs);
      if (!mail) throw box.timeoutError(to.toLowerCase(), timeoutMs);
      return mail;
    },
    async pending(to) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return box.pending(to);
    },
    deliveries: async () => {
      const { accepted, refused } = box.summary();
      return { accepted, refused };
    },
    close: () => sink.close(),
  };
}

type ResendBody = {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  tags?: Array<{ name: string; value: string }>;
};

type WebhookBody = {
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
  kind: string;
  link?: string;
  code?: string;
};

/** Why `body` is not `{from, to: [...], subject, text, html, tags?}`, or undefined. */
function resendShapeProblem(body: unknown): string | undefined {
  if (!isObject(body)) return "body is not a JSON object";
  const extra = Object.keys(body).filter(
    (k) => !["from", "to", "subject", "text", "html", "tags"].includes(k),
  );
  if (extra.length > 0) return `unexpected fields: ${extra.join(", ")}`;
  for (const field of ["from", "subject", "text", "html"]) {
    if (typeof body[field] !== "string" || body[field] === "") return `${field}: expected a string`;
  }
  const { to, tags } = body;
  if (!Array.isArray(to) || to.length === 0 || to.length > 50) {
    return "to: expected an array of 1 to 50 addresses";
  }
  if (!to.every((a) => typeof a === "string" && /^[^@\s]+@[^@\s]+$/.test(a))) {
    return "to: expected email addresses";
  }
  if (
    tags !== undefined &&
    !(
      Array.isArray(tags) &&
      tags.every(
        (t) =>
          isObject(t) &&
          typeof t.name === "string" &&
          typeof t.value === "string" &&
          // Resend: tag names and values are ASCII letters, numbers, underscores or dashes.
          /^[A-Za-z0-9_-]{1,256}$/.test(t.name) &&
          /^[A-Za-z0-9_-]{1,256}$/.test(t.value),
      )
    )
  ) {
    return "tags: expected [{name, value}] of letters, digits, _ and -";
  }
  return undefined;
}

/** Why `body` is not `{to, from, subject, text, html, kind, link?, code?}`, or undefined. */
function webhookShapeProblem(body: unknown): string | undefined {
  if (!isObject(body)) return "body is not a JSON object";
  const allowed = ["to", "from", "subject", "text", "html", "kind", "link", "code"];
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length > 0) return `unexpected fields: ${extra.join(", ")}`;
  for (const field of ["to", "from", "subject", "text", "html", "kind"]) {
    if (typeof body[field] !== "string" || body[field] === "") return `${field}: expected a string`;
  }
  if (!(EMAIL_KINDS as readonly unknown[]).includes(body.kind)) return "kind: unknown";
  for (const field of ["link", "code"]) {
    if (body[field] !== undefined && typeof body[field] !== "string") {
      return `${field}: expected a string when present`;
    }
  }
  return undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isJson = (req: IncomingMessage) =>
  /^application\/json\b/i.test(req.headers["content-type"] ?? "");

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error("body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, body: unknown) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(payload),
  });
  res.end(payload);
}
