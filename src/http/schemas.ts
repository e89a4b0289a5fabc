import { z } from "@hono/zod-openapi";

/** Shared OpenAPI schemas: the one source of validation and documentation. */

export const ErrorSchema = z
  .object({
    error: z.string().openapi({ example: "invalid_request" }),
    error_description: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Error");

/** Trimmed, lower-cased, ≤ 254 characters (RFC 5321 path limit), a valid address. */
export const EmailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .email()
  .openapi({ example: "ada@example.com" });

/** A link token from an email: 32 random bytes, base64url. */
export const LinkTokenSchema = z
  .string()
  .min(16)
  .max(128)
  .openapi({ description: "From the emailed link" });

/** A 6-digit emailed code. */
export const CodeSchema = z
  .string()
  .trim()
  .regex(/^\d{6}$/, "expected the 6-digit code")
  .openapi({ example: "123456" });

/** The body of a 202 that must not tell whether anything was sent. */
export const AcceptedSchema = z.object({}).openapi("Accepted");

export const UserSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    email_verified: z.boolean(),
    created_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("User");

export const TokenResponseSchema = z
  .object({
    access_token: z.string(),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int(),
    refresh_token: z.string().optional(),
    refresh_token_expires_in: z.number().int().optional(),
    scope: z.string().optional(),
    id_token: z.string().optional(),
    user: UserSchema.optional(),
    issued_token_type: z.string().optional().openapi({
      description:
        "Token exchange (RFC 8693 §2.2.1): urn:ietf:params:oauth:token-type:access_token",
    }),
  })
  .openapi("TokenResponse");

/** `{ description, content: application/json Error }` for a route's error responses. */
export const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorSchema } },
});

/** Responses every route can give. */
export const commonErrors = {
  400: errorResponse("invalid_request (malformed JSON, missing or wrong fields)"),
  413: errorResponse("payload_too_large"),
  415: errorResponse("unsupported_media_type"),
  500: errorResponse("server_error"),
} as const;

/** Responses of Bearer-protected routes. */
export const bearerErrors = {
  401: errorResponse("invalid_token: missing, malformed, expired or foreign access token"),
} as const;
