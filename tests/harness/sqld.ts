import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureSqld } from "../../scripts/ensure-sqld.mjs";

/** A running libSQL server (sqld) over a fresh database in a temp dir. */
export type Sqld = {
  /** `http://127.0.0.1:<port>`: a `DATABASE_URL` for `@libsql/client` and its web build. */
  url: string;
  /** The server's output so far (for failure messages). */
  output(): string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s), waits for it to exit, removes its files. */
  stop(): Promise<void>;
};

/** A port nobody listens on right now (the kernel's pick for an ephemeral listener). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
  });

/**
 * Starts `sqld --db-path <tmp> --http-listen-addr 127.0.0.1:<free port> --no-welcome` (the
 * binary pinned in scripts/ensure-sqld.mjs, fetched on first use) and resolves once `GET /health`
 * answers 200. A port taken between the probe and the bind makes sqld exit: then it tries again.
 */
export async function startSqld(): Promise<Sqld> {
  const binary = ensureSqld();
  const dir = await mkdtemp(join(tmpdir(), "tessera-sqld-"));
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(
      binary,
      [
        "--db-path",
        join(dir, "data.sqld"),
        "--http-listen-addr",
        `127.0.0.1:${port}`,
        "--no-welcome",
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH, RUST_LOG: "warn" } },
    );
    let log = "";
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-8192);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const stopped = exited(child);
    // Never outlive the test process, even when a suite dies before its teardown.
    const orphaned = () => child.kill("SIGKILL");
    process.once("exit", orphaned);
    void stopped.then(() => process.off("exit", orphaned));
    let stopping: Promise<void> | undefined;
    const sqld: Sqld = {
      url,
      output: () => log,
      stop: () => {
        stopping ??= (async () => {
          const force = setTimeout(() => child.kill("SIGKILL"), 5000);
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
          await stopped;
          clearTimeout(force);
          await rm(dir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
    const deadline = Date.now() + 10_000;
    let gone = false;
    void stopped.then(() => {
      gone = true;
    });
    while (!gone && Date.now() < deadline) {
      const ok = await fetch(`${url}/health`).then(
        (res) => res.ok,
        () => false,
      );
      if (ok) return sqld;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (gone && attempt < 3) continue;
    await sqld.stop();
    throw new Error(`sqld did not become healthy at ${url}:\n${log}`);
  }
}
