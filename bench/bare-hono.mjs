// Baseline server: Hono on @hono/node-server answering a constant JSON body, the least any
// Hono endpoint can cost on this machine.
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const body = JSON.stringify({
  keys: [{ kty: "OKP", crv: "Ed25519", x: "A".repeat(43), kid: "k", alg: "EdDSA", use: "sig" }],
});
const app = new Hono();
app.get("/*", (c) => c.body(body, 200, { "Content-Type": "application/json" }));

serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
  console.log(`listening on http://127.0.0.1:${info.port}`);
});
process.once("SIGTERM", () => process.exit(0));
