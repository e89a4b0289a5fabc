/**
 * What of an unexpected error may go to the log: its name, its message and stack without
 * bound values (drizzle appends `params: …` to a failed query's message, which would put
 * password hashes and emails in the log), and the driver's error code.
 */
export function loggableError(error: unknown): { error: string; code?: string; stack?: string } {
  if (!(error instanceof Error)) return { error: typeof error };
  const scrub = (text: string) =>
    text
      .split("\n")
      .filter((line) => !/^\s*params:/.test(line))
      .join("\n");
  const cause = error.cause as { code?: unknown } | undefined;
  const code = (error as { code?: unknown }).code ?? cause?.code;
  return {
    error: `${error.name}: ${scrub(error.message)}`,
    ...(typeof code === "string" ? { code } : {}),
    ...(error.stack ? { stack: scrub(error.stack) } : {}),
  };
}
