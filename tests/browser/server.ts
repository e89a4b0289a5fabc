/**
 * The real Node server, as `npm start` runs it: the built `dist/node.js` in a temp working
 * directory, so its libSQL file, development secret and keys are fresh and removed on close.
 * Needs `npm run build` (the vitest global setup runs it when dist/ is missing).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ENTRY = fileURLToPath(new URL("../../dist/node.js", import.meta.url));

export type RunningServer = {
  /** `http://localhost:PORT`, also the issuer. */
  url: string;
  output(): string;
  /** Stops the server (SIGTERM) and removes its directory; safe to call more than once. */
  close(): Promise<void>;
};

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

const stopped = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });

export async function startServer(env: Record<string, string> = {}): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), "tessera-browser-"));
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const child = spawn(process.execPath, [ENTRY], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      ISSUER: url,
      LOG_LEVEL: "warn",
      SCRYPT_LN: "10",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= stopped(child).then(() => rm(dir, { recursive: true, force: true }));
    return closing;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start in 20 s:\n${output}`)), 20_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (/listening on http:/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code}):\n${output}`));
      });
    });
  } catch (error) {
    await close();
    throw error;
  }
  return { url, output: () => output, close };
}
