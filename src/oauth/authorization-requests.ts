import { and, eq, gt, lte } from "drizzle-orm";
import { authorizationRequests } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { randomId } from "../lib/random-id.ts";
import type { AuthorizationRequest } from "./authorization-request.ts";

/** RFC 9126 §2.2: a pushed request is usable for a short time; so is a pending one. */
export const PUSHED_REQUEST_TTL_S = 60;
/** How long a user may take to sign in and consent. */
export const PENDING_REQUEST_TTL_S = 30 * 60;

/** RFC 9126 §2.2: the `request_uri` form. */
export const REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:";

/** Stores a validated request: pushed by a client (PAR) or waiting for the user. */
export async function saveAuthorizationRequest(
  db: Database,
  request: AuthorizationRequest,
  input: { pushed: boolean; now: number },
): Promise<{ id: string; expiresIn: number }> {
  const id = randomId();
  const ttl = input.pushed ? PUSHED_REQUEST_TTL_S : PENDING_REQUEST_TTL_S;
  await db.insert(authorizationRequests).values({
    id,
    clientId: request.clientId,
    params: JSON.stringify(request),
    pushed: input.pushed,
    createdAt: input.now,
    expiresAt: input.now + ttl * 1000,
  });
  return { id, expiresIn: ttl };
}

/**
 * Takes a pushed request for `clientId` (RFC 9126 §4): single use, so a leaked `request_uri`
 * cannot start a second flow.
 */
export async function takePushedRequest(
  db: Database,
  input: { id: string; clientId: string; now: number },
): Promise<AuthorizationRequest | undefined> {
  const [row] = await db
    .delete(authorizationRequests)
    .where(
      and(
        eq(authorizationRequests.id, input.id),
        eq(authorizationRequests.clientId, input.clientId),
        eq(authorizationRequests.pushed, true),
        gt(authorizationRequests.expiresAt, input.now),
      ),
    )
    .returning();
  return row ? (JSON.parse(row.params) as AuthorizationRequest) : undefined;
}

/** A pending (not pushed) request by id, while it lasts. */
export async function findPendingRequest(
  db: Database,
  input: { id: string; now: number },
): Promise<AuthorizationRequest | undefined> {
  const [row] = await db
    .select()
    .from(authorizationRequests)
    .where(
      and(
        eq(authorizationRequests.id, input.id),
        eq(authorizationRequests.pushed, false),
        gt(authorizationRequests.expiresAt, input.now),
      ),
    )
    .limit(1);
  return row ? (JSON.parse(row.params) as AuthorizationRequest) : undefined;
}

/** Ends a pending request (answered: code issued or error sent). */
export async function deletePendingRequest(db: Database, id: string): Promise<void> {
  await db.delete(authorizationRequests).where(eq(authorizationRequests.id, id));
}

/** Scheduled clean-up of expired requests. */
export async function pruneAuthorizationRequests(db: Database, now: number): Promise<number> {
  const rows = await db
    .delete(authorizationRequests)
    .where(lte(authorizationRequests.expiresAt, now))
    .returning({ id: authorizationRequests.id });
  return rows.length;
}
