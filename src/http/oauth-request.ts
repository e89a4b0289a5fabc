import type { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { duplicateTopLevelKey } from "../lib/duplicate-json-keys.ts";
import { ApiError } from "./api-error.ts";
import type { AppEnv } from "./app-env.ts";

/**
 * An `/oauth/*` request body: form-encoded per RFC 6749 §3.2 (and RFC 7009/7662), JSON as
 * an extension. Each parameter may appear once: a repeated form parameter arrives as an
 * array and fails the schema's `z.string()` → `invalid_request`.
 */
export function oauthBody<T extends z.ZodType>(schema: T) {
  return {
    required: false,
    content: {
      "application/x-www-form-urlencoded": { schema },
      "application/json": { schema },
    },
  } as const;
}

/** True when the request body is JSON (else it was validated as a form, or is absent). */
export function isJsonBody(c: Context): boolean {
  return /^application\/([\w.-]+\+)?json\b/i.test(c.req.header("Content-Type") ?? "");
}

/** Refuses a JSON body that repeats a parameter (a repeated form parameter fails the schema). */
export const rejectRepeatedJsonParams = createMiddleware<AppEnv>(async (c, next) => {
  if (isJsonBody(c)) {
    // Hono caches the body, so the validator's `c.req.json()` reads the same text.
    const repeated = duplicateTopLevelKey(await c.req.text());
    if (repeated !== undefined) {
      throw new ApiError("invalid_request", `Parameter ${repeated} is repeated`, {
        issues: [{ path: repeated, message: "must not be repeated" }],
      });
    }
  }
  await next();
});
