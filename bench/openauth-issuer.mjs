// The peer: an OpenAuth 0.4.3 issuer as its docs set one up — MemoryStorage, served with
// @hono/node-server like Tessera — with a provider that signs the user in at once, so the
// bench gets refresh tokens through OpenAuth's own authorize → code → /token flow.
// OpenAuth's issuer always logs each request (hono/logger); its stdout goes to a file,
// as Tessera's does.
import { serve } from "@hono/node-server";
import { issuer } from "@openauthjs/openauth/issuer";
import { MemoryStorage } from "@openauthjs/openauth/storage/memory";

/** A provider with no UI: GET /instant/authorize?user=… completes the sign-in immediately. */
const instant = {
  type: "instant",
  init(routes, ctx) {
    routes.get("/authorize", async (c) =>
      ctx.forward(c, await ctx.success(c, { user: c.req.query("user") ?? "bench" })),
    );
  },
};

const app = issuer({
  storage: MemoryStorage(),
  providers: { instant },
  // Subjects are what the app puts in tokens; one user per bench session.
  success: async (ctx, value) => ctx.subject("user", { id: value.user }),
  allow: async () => true,
});

serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
  console.log(`listening on http://127.0.0.1:${info.port}`);
});
process.once("SIGTERM", () => process.exit(0));
