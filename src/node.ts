/**
 * Node entry: parse the environment, open the libSQL file (migrations applied), make sure
 * the master secret and signing keys exist, and serve. Runtime-specific code lives here
 * and in the database opener only.
 */
import { readFile, stat } from "node:fs/promises";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { availableParallelism } from "node:os";
import { extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { bootstrap } from "./bootstrap.ts";
import { ConfigError, parseConfig } from "./config.ts";
import { createLogger } from "./lib/logger.ts";
import { loggableError } from "./lib/safe-error.ts";
import {
  afterIoPhase,
  bufferedStdout,
  installSynchronousSigning,
  nodeGroupCommit,
  openNodeRuntime,
  smtpMailer,
} from "./node-runtime.ts";

/** How often the server runs maintenance (the Workers cron runs every 15 minutes too). */
const KEY_MAINTENANCE_EVERY_MS = 15 * 60_000;

/** `npm run build`'s static files (dist/static): `../dist/static` from src/ and from dist/. */
const STATIC_DIR = fileURLToPath(new URL("../dist/static", import.meta.url));

const STATIC_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".woff2": "font/woff2",
};

/**
 * `AppDeps["assets"]` on Node: the files under `root` (of the types above, nothing outside it)
 * by request path, revalidated on every use by ETag, as Workers static assets are.
 */
function directoryAssets(root: string): { fetch(request: Request): Promise<Response> } {
  const base = resolve(root);
  const notFound = () => new Response(null, { status: 404 });
  return {
    async fetch(request) {
      let path: string;
      try {
        path = decodeURIComponent(new URL(request.url).pathname);
      } catch {
        return notFound();
      }
      const file = resolve(base, `.${path}`);
      const type = STATIC_TYPES[extname(file)];
      if (!type || !file.startsWith(base + sep) || path.includes("\0")) return notFound();
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) return notFound();
      const headers = {
        "Content-Type": type,
        "Cache-Control": "public, max-age=0, must-revalidate",
        ETag: `"${info.size.toString(36)}-${Math.trunc(info.mtimeMs).toString(36)}"`,
      };
      if (request.headers.get("If-None-Match") === headers.ETag) {
        return new Response(null, { status: 304, headers });
      }
      return new Response(await readFile(file), { headers });
    },
  };
}

async function main() {
  installSynchronousSigning();
  const config = parseConfig(process.env);
  const logger = createLogger(config.logLevel, bufferedStdout());
  const { db, client, secret } = await openNodeRuntime(config);
  // Hash concurrency follows the libuv pool that runs crypto.scrypt.
  const poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const { app, maintainKeys, pruneStale } = await bootstrap({
    config,
    db,
    secret,
    logger,
    hasher: { concurrency: Math.min(poolSize, Math.max(1, availableParallelism())) },
    socketAddress: (c) => getConnInfo(c).remote.address,
    groupCommit: nodeGroupCommit(client),
    batchReads: afterIoPhase,
    assets: directoryAssets(STATIC_DIR),
    smtp: smtpMailer,
  });

  // Maintenance, like the Workers cron trigger: retire expired keys, rotate when due, and
  // drop stale rate-limit rows and old auth events.
  const maintenance = setInterval(() => {
    maintainKeys().catch((error: unknown) =>
      logger.error("key_maintenance_failed", loggableError(error)),
    );
    pruneStale().catch((error: unknown) => logger.error("pruning_failed", loggableError(error)));
  }, KEY_MAINTENANCE_EVERY_MS);
  maintenance.unref();

  // Without `createServer`, @hono/node-server serves with node:http.
  const server = serve({ fetch: app.fetch, port: config.port }, (info) => {
    const url = `http://localhost:${info.port}`;
    console.log(`Tessera listening on ${url} (issuer ${config.issuer})`);
  }) as Server;
  stopGracefully(server, config.shutdownGrace * 1000, () => {
    clearInterval(maintenance);
    client.close();
  });
}

/**
 * On SIGTERM or SIGINT: stop accepting connections, let the requests in flight finish (at most
 * `graceMs`, `SHUTDOWN_GRACE`; then their connections are closed), run `close` (the
 * database), log one line and exit 0. A second signal while stopping changes nothing.
 */
function stopGracefully(server: Server, graceMs: number, close: () => void) {
  const inFlight = new Set<ServerResponse>();
  let stopping = false;
  // A keep-alive connection would otherwise stay open after its last response until its idle
  // timeout: answers during the stop say `Connection: close`, and each finished one lets the
  // server close connections that went idle.
  server.on("request", (_req: IncomingMessage, res: ServerResponse) => {
    inFlight.add(res);
    if (stopping) res.setHeader("Connection", "close");
    res.once("close", () => {
      inFlight.delete(res);
      if (stopping) setImmediate(() => server.closeIdleConnections());
    });
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    const waitedFor = inFlight.size;
    for (const res of inFlight) if (!res.headersSent) res.setHeader("Connection", "close");
    let finished = false;
    const finish = (cutOff: number | undefined) => {
      if (finished) return;
      finished = true;
      clearTimeout(limit);
      close();
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const requests = (n: number) => `${n} request${n === 1 ? "" : "s"}`;
      console.log(
        cutOff === undefined
          ? `Tessera stopped (${signal}) in ${seconds} s: ${requests(waitedFor)} in flight finished; database closed`
          : `Tessera stopped (${signal}) in ${seconds} s: connections still open at the ${graceMs / 1000} s limit closed, ${requests(cutOff)} cut off; database closed`,
      );
      process.exit(0);
    };
    const limit = setTimeout(() => {
      const cutOff = inFlight.size;
      server.closeAllConnections();
      finish(cutOff);
    }, graceMs);
    // close() stops listening and closes idle connections; its callback runs once the last
    // connection has closed.
    server.close(() => finish(undefined));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error: unknown) => {
  // One line naming the problem; never a stack for a configuration mistake.
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(`Tessera failed to start: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
