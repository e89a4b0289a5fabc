import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { validator } from "hono/validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestBody } from "./index.ts";

const MAX = 1024;

function app() {
  const hono = new Hono();
  hono.use(
    requestBody({
      maxBytes: MAX,
      onTooLarge: (c) => c.text("too large", 413, { Connection: "close" }),
    }),
  );
  // What Hono's form validator (zod-openapi's request.body) and parseBody() see.
  hono.post(
    "/form",
    validator("form", (value) => value),
    (c) => c.json(c.req.valid("form")),
  );
  hono.post("/parsed", async (c) => c.json(await c.req.parseBody({ all: true })));
  hono.post("/text", async (c) => c.text(await c.req.text()));
  return hono;
}

const form = (body: string, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
  body,
});

/** What undici's formData() makes of the same body, as Hono's validator did before. */
async function undiciForm(body: string) {
  const parsed = await new Response(body, {
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  }).formData();
  const out: Record<string, string | string[]> = {};
  parsed.forEach((value, key) => {
    const prior = out[key];
    out[key] = prior === undefined ? String(value) : [prior, String(value)].flat();
  });
  return out;
}

describe("requestBody middleware", () => {
  it("parses a form body exactly as undici's formData() does", async () => {
    for (const body of [
      "grant_type=refresh_token&refresh_token=abc.1.xyz",
      "a=1+2&b=%2B%20%26&c=&d",
      "e=%E2%9C%93&f=%ZZ&g=%&h==x&&i=1",
      "repeated=1&repeated=2",
      "",
    ]) {
      const res = await app().request("/form", form(body));
      expect(await res.json(), body).toEqual(await undiciForm(body));
    }
  });

  it("serves parseBody() from the same parse", async () => {
    const res = await app().request("/parsed", form("x=1&x=2&y=%C3%A9"));
    expect(await res.json()).toEqual({ x: ["1", "2"], y: "é" });
  });

  it("leaves the body text readable", async () => {
    const res = await app().request("/text", form("a=1&b=2"));
    expect(await res.text()).toBe("a=1&b=2");
  });

  it("refuses a body of unknown length over the limit as it streams", async () => {
    const res = await app().request("/text", {
      method: "POST",
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("x".repeat(MAX + 1)));
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  describe("over HTTP (Content-Length from the socket)", () => {
    let url = "";
    let close = () => {};
    beforeAll(async () => {
      await new Promise<void>((resolve) => {
        const server = serve({ fetch: app().fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
          url = `http://127.0.0.1:${(info as AddressInfo).port}`;
          resolve();
        });
        close = () => server.close();
      });
    });
    afterAll(() => close());

    it("judges the length by the header: over the limit is 413 with Connection: close", async () => {
      const res = await fetch(`${url}/form`, form(`a=${"x".repeat(MAX)}`));
      expect(res.status).toBe(413);
      expect(res.headers.get("Connection")).toBe("close");
    });

    it("parses a form within the limit", async () => {
      const res = await fetch(`${url}/form`, form("grant_type=refresh_token&a=%2B"));
      expect(await res.json()).toEqual({ grant_type: "refresh_token", a: "+" });
    });

    it("a chunked body over the limit is counted as it streams", async () => {
      const res = await fetch(`${url}/text`, {
        method: "POST",
        body: new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode("x".repeat(MAX + 1)));
            controller.close();
          },
        }),
        duplex: "half",
      } as RequestInit);
      expect(res.status).toBe(413);
    });
  });
});
