import { createRoute, z } from "@hono/zod-openapi";
import { ApiError } from "../http/api-error.ts";
import { requireAccessToken } from "../http/middleware/require-access-token/index.ts";
import { recordEvent } from "../http/record-event.ts";
import { createRouter } from "../http/router.ts";
import { bearerErrors, errorResponse } from "../http/schemas.ts";
import { listIdentities, unlinkIdentity } from "../identities/identities.ts";
import { PROVIDER_KINDS } from "../providers/provider.ts";
import { listProviders } from "../providers/provider-store.ts";

const IdentitySchema = z
  .object({
    id: z.string().openapi({ description: "The identity's id (for DELETE)" }),
    provider: z.string().openapi({ description: "The provider's name", example: "google" }),
    kind: z.enum(PROVIDER_KINDS).nullable().openapi({
      description: "The provider's kind; null when the provider has been deleted since",
    }),
    email: z.string().nullable().openapi({ description: "The address the provider last sent" }),
    email_verified: z.boolean(),
    created_at: z.string().openapi({ format: "date-time" }),
    last_used_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Identity");

const bearer = {
  security: [{ bearer: [] as string[] }],
  middleware: [requireAccessToken],
};

const listRoute = createRoute({
  method: "get",
  path: "/v1/identities",
  tags: ["Account"],
  summary: "The caller's linked upstream identities (social sign-in)",
  ...bearer,
  responses: {
    200: {
      description: "Identities, oldest first",
      content: {
        "application/json": { schema: z.object({ identities: z.array(IdentitySchema) }) },
      },
    },
    ...bearerErrors,
  },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/v1/identities/{id}",
  tags: ["Account"],
  summary: "Unlink one of the caller's identities",
  ...bearer,
  request: { params: z.object({ id: z.string().min(1).max(64) }) },
  responses: {
    204: {
      description: "Unlinked; signing in with that provider account no longer reaches this one",
    },
    ...bearerErrors,
    404: errorResponse("not_found: no identity with this id belongs to the caller"),
    409: errorResponse(
      "last_identity: the account has no password and no other identity, so this is its last way in",
    ),
  },
});

/** `GET /v1/identities`, `DELETE /v1/identities/:id`. */
export const identityRoutes = createRouter()
  .openapi(listRoute, async (c) => {
    const { db } = c.get("deps");
    const [identities, providers] = await Promise.all([
      listIdentities(db, c.get("auth").sub),
      listProviders(db),
    ]);
    const kinds = new Map(providers.map((p) => [p.name, p.kind]));
    return c.json(
      {
        identities: identities.map((identity) => ({
          id: identity.id,
          provider: identity.provider,
          kind: kinds.get(identity.provider) ?? null,
          email: identity.email,
          email_verified: identity.emailVerified,
          created_at: new Date(identity.createdAt).toISOString(),
          last_used_at: new Date(identity.lastUsedAt).toISOString(),
        })),
      },
      200,
      { "Cache-Control": "no-store" },
    );
  })
  .openapi(deleteRoute, async (c) => {
    const { db } = c.get("deps");
    const { id } = c.req.valid("param");
    const userId = c.get("auth").sub;
    // Another user's identity and an unknown id look alike: nothing to learn by probing.
    const unlinked = await unlinkIdentity(db, { userId, id });
    if (!unlinked) throw new ApiError("not_found", "Identity not found");
    await recordEvent(c, { type: "identity_unlinked", userId, sessionId: c.get("auth").sid });
    c.get("deps").logger.info("identity_unlinked", {
      request_id: c.get("requestId"),
      user_id: userId,
      provider: unlinked.provider,
    });
    return c.body(null, 204);
  });
