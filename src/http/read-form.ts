import type { Context } from "hono";
import type { AppEnv } from "./app-env.ts";

/** A hosted page's form fields; a repeated field or a file counts as absent. */
export async function readForm(c: Context<AppEnv>): Promise<(name: string) => string | undefined> {
  const body = await c.req.parseBody({ all: true });
  return (name) => {
    const value = body[name];
    return typeof value === "string" ? value : undefined;
  };
}
