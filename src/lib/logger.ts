/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Structured JSON-lines logger. Fields must never hold passwords, tokens or secrets. */
export type Logger = Record<LogLevel, (event: string, fields?: Record<string, unknown>) => void>;

const RANK = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;

/** One JSON object per line on `write` (stdout by default), at `level` and above. */
export function createLogger(
  level: LogLevel | "silent" = "info",
  write: (line: string) => void = (line) => console.log(line),
): Logger {
  const at =
    (l: LogLevel) =>
    (event: string, fields: Record<string, unknown> = {}) => {
      if (RANK[l] < RANK[level]) return;
      write(JSON.stringify({ time: new Date().toISOString(), level: l, event, ...fields }));
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
