import { OpenAPIHono } from "@hono/zod-openapi";
import { ApiError } from "./api-error.ts";
import type { AppEnv } from "./app-env.ts";

/**
 * A router whose zod validation failures become 400 `invalid_request` with `issues`,
 * so every route reports bad input in the one documented shape.
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (result.success) return;
      const issues = result.error.issues.map((issue) => ({
        path: issue.path.map(String).join("."),
        message: issue.message,
      }));
      const first = issues[0];
      const description = first
        ? `Invalid request: ${first.path || "body"}: ${first.message}`
        : "Invalid request";
      throw new ApiError("invalid_request", description, { issues });
    },
  });
}
