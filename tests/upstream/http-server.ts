/**
 * What the upstream test servers (tests/upstream/*.ts) share: listening on a loopback port,
 * reading bodies, small HTML/JSON answers, and a record of every request they received, which
 * tests read in-process or — from inside workerd — over the control API:
 *
 * - `GET /_test/requests` → `{ "requests": RecordedRequest[] }`
 * - `DELETE /_test/requests` → 204 (forget them)
 *
 * Each server adds its own `/_test/…` routes (accounts, users, clients).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { RecordedRequest } from "./protocol.ts";

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  recorded: RecordedRequest,
) => Promise<unknown> | unknown;

export const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

export function sendHtml(res: ServerResponse, status: number, title: string, body: string) {
  res.writeHead(status, {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
  });
  res.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
      `<link rel="icon" href="data:,"></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
  );
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-store",
    ...headers,
  });
  res.end(JSON.stringify(body));
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** The form (or JSON object) a POST carried, as strings. */
export function parseBody(contentType: string | undefined, text: string): Record<string, string> {
  if (!text) return {};
  if (contentType?.startsWith("application/json")) {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
  }
  return Object.fromEntries(new URLSearchParams(text));
}

/** The hidden inputs of a form, escaped. */
export const hiddenInputs = (fields: Record<string, string>) =>
  Object.entries(fields)
    .map(
      ([name, value]) =>
        `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`,
    )
    .join("");

export type Listening = {
  origin: string;
  server: Server;
  requests: RecordedRequest[];
  close(): Promise<void>;
};

/**
 * Listens on `host` (default 127.0.0.1) and an ephemeral port. Every request is recorded
 * (bodies read first, so handlers get them in `recorded.body`) unless `passthrough(url)` says
 * the handler reads the body itself (oidc-provider does).
 */
export async function listen(
  handler: Handler,
  options: {
    host?: string;
    /** The origin to advertise (e.g. `http://localhost:PORT` while listening on 127.0.0.1). */
    hostname?: string;
    passthrough?: (url: URL) => boolean;
    control?: (req: IncomingMessage, res: ServerResponse, url: URL, body: string) => boolean;
  } = {},
): Promise<Listening> {
  const requests: RecordedRequest[] = [];
  let origin = "";
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", origin);
    const run = async () => {
      const passthrough = options.passthrough?.(url) ?? false;
      const text = passthrough ? "" : await readBody(req);
      if (url.pathname.startsWith("/_test/")) {
        if (url.pathname === "/_test/requests") {
          if (req.method === "DELETE") {
            requests.length = 0;
            res.writeHead(204).end();
          } else sendJson(res, 200, { requests });
          return;
        }
        if (options.control?.(req, res, url, text)) return;
        return sendJson(res, 404, { error: "no such control route" });
      }
      const recorded: RecordedRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: Object.fromEntries(
          ["authorization", "user-agent", "accept", "content-type", "origin", "cookie"].flatMap(
            (name) => {
              const value = req.headers[name];
              return typeof value === "string" ? [[name, value]] : [];
            },
          ),
        ),
        body: passthrough ? {} : parseBody(req.headers["content-type"], text),
      };
      requests.push(recorded);
      await handler(req, res, url, recorded);
    };
    run().catch((error: unknown) => {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      if (!res.headersSent) sendJson(res, 500, { error: "server_error", message });
      else res.end();
    });
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  origin = `http://${options.hostname ?? host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    origin,
    server,
    requests,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}

/** The JSON body of a control request. */
export const controlJson = <T>(body: string): T => JSON.parse(body || "{}") as T;
