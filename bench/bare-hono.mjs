// Baseline server: Hono on @hono/node-server answering a constant JSON body, the least any
// Hono endpoint can cost on this machine. With BARE_RESPONSE (JSON of `headers` and `body`),
// it answers those instead: a response copied from Tessera (the same headers, one
// fixed X-Request-Id, the same body; Node writes Date, Content-Length and Connection itself),
// so what the response itself costs both ends is told apart from what Tessera adds.
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const { headers, body } = process.env.BARE_RESPONSE
  ? JSON.parse(process.env.BARE_RESPONSE)
  : {
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        keys: [
          { kty: "OKP", crv: "Ed25519", x: "A".repeat(43), kid: "k", alg: "EdDSA", use: "sig" },
        ],
      }),
    };
const app = new Hono();
app.get("/*", (c) => c.body(body, 200, headers));

serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
  console.log(`listening on http://127.0.0.1:${info.port}`);
});
process.once("SIGTERM", () => process.exit(0));
