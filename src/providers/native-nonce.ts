import { lte, sql } from "drizzle-orm";
import { upstreamNonces } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { sha256Base64url } from "../lib/sha256.ts";

/**
 * Records that an exchanged id_token's nonce was used, once per provider, until `expiresAt`:
 * when the token stops being accepted, its `exp` plus the clock tolerance
 * (docs/design/upstream.md#native-token-exchange-rfc-8693). One atomic statement: the
 * insert, or — when a row for the nonce exists but has expired and not been pruned yet —
 * taking it over. False: the nonce is in use (a replay).
 */
export async function claimUpstreamNonce(
  db: Database,
  input: { provider: string; nonce: string; expiresAt: number; now: number },
): Promise<boolean> {
  const key = await sha256Base64url(`${input.provider}.${input.nonce}`);
  const rows = await db
    .insert(upstreamNonces)
    .values({ key, expiresAt: input.expiresAt })
    .onConflictDoUpdate({
      target: upstreamNonces.key,
      set: { expiresAt: sql`excluded.expires_at` },
      setWhere: lte(upstreamNonces.expiresAt, input.now),
    })
    .returning({ key: upstreamNonces.key });
  return rows.length > 0;
}

/** Deletes nonces whose tokens have expired (scheduled maintenance). */
export async function pruneUpstreamNonces(db: Database, now: number): Promise<number> {
  const rows = await db
    .delete(upstreamNonces)
    .where(lte(upstreamNonces.expiresAt, now))
    .returning({ key: upstreamNonces.key });
  return rows.length;
}
