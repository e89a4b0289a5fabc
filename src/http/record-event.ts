import type { Context } from "hono";
import { type AuthEventType, insertEvent } from "../events/auth-events.ts";
import type { AppEnv } from "./app-env.ts";
import { clientIp } from "./client-ip.ts";

/** What a request tells about who did something: its client IP and user agent. */
export function requestOrigin(c: Context<AppEnv>): { ip: string | null; userAgent: string | null } {
  return {
    ip: clientIp(c) ?? null,
    userAgent: c.req.header("User-Agent")?.slice(0, 512) ?? null,
  };
}

/** Records an auth event for `userId`, with the request's IP and user agent. */
export async function recordEvent(
  c: Context<AppEnv>,
  event: { type: AuthEventType; userId: string; sessionId?: string | null },
): Promise<void> {
  const { db, clock } = c.get("deps");
  await insertEvent(db, { ...event, ...requestOrigin(c), now: clock.now() });
}
