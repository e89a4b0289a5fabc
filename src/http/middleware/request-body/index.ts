import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";

const FORM = "application/x-www-form-urlencoded";

/**
 * The body limit, and form bodies parsed once, cheaply (docs/performance.md):
 *
 * - A body that states its `Content-Length` is judged by the header alone. Hono's
 *   `bodyLimit` first touches `c.req.raw.body`, which makes @hono/node-server build a full
 *   `Request` and then read the body through web streams: ~15 % of a refresh in the profile.
 *   Only a body of unknown length (chunked) is counted as it streams, by `bodyLimit`. GET and
 *   HEAD carry none.
 * - An `application/x-www-form-urlencoded` body is read as text and parsed with
 *   `URLSearchParams` — the same WHATWG parser undici's `formData()` runs, ~1 µs instead of
 *   ~19 µs — into the request's body cache, where Hono's form validator and `parseBody()`
 *   look first. `URLSearchParams` has the `FormData` methods they use (`forEach`, `get`,
 *   `getAll`, `has`, iteration); a form of this type has no files.
 */
export function requestBody(options: {
  maxBytes: number;
  onTooLarge: (c: Context) => Response | Promise<Response>;
}): MiddlewareHandler {
  const { maxBytes, onTooLarge } = options;
  const streamed = bodyLimit({ maxSize: maxBytes, onError: onTooLarge });
  return async (c, next) => {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD") return next();
    const length = c.req.header("Content-Length");
    if (length === undefined || c.req.header("Transfer-Encoding") !== undefined) {
      return streamed(c, async () => {
        await parseForm(c);
        await next();
      });
    }
    if (Number.parseInt(length, 10) > maxBytes) return onTooLarge(c);
    await parseForm(c);
    await next();
  };
}

async function parseForm(c: Context) {
  const type = c.req.header("Content-Type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== FORM) return;
  let text: string;
  try {
    text = await c.req.text();
  } catch {
    // Unreadable (the client went away): the validator reads again and answers 400 itself.
    return;
  }
  // Hono keeps promises in the cache (its type names the settled values).
  c.req.bodyCache.formData = Promise.resolve(new URLSearchParams(text)) as unknown as FormData;
}
