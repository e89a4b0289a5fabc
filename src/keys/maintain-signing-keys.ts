import { and, eq, lte, max } from "drizzle-orm";
import type { SigningAlg } from "../config.ts";
import { clients, signingKeys } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { ensureSigningKeys } from "./ensure-signing-keys.ts";
import { JWKS_MAX_AGE_S } from "./key-store.ts";
import { type Rotation, rotateSigningKeys } from "./rotate-signing-keys.ts";

/** Verifiers may allow up to this much clock skew (the SDK's default is 30 s). */
const VERIFIER_SKEW_MS = 60_000;

/** What one maintenance run did. */
export type KeyMaintenance = { rotated?: Rotation; retired: string[] };

/**
 * Scheduled key maintenance (Workers cron, Node timer):
 * - keeps a `current` and a `next` key in place;
 * - retires `previous` keys once every token they signed has expired (the longest
 *   access-token lifetime, the default or any client's, plus verifier skew);
 * - rotates when the current key is older than `rotationIntervalMs` (0: never), but only
 *   if `next` has been published for at least the JWKS max-age, so cached verifiers hold it.
 */
export async function maintainSigningKeys(
  db: Database,
  options: {
    alg: SigningAlg;
    keyEncryptionKey: Uint8Array;
    now: number;
    rotationIntervalMs: number;
    accessTokenTtlMs: number;
  },
): Promise<KeyMaintenance> {
  const { now } = options;
  await ensureSigningKeys(db, options);

  const [longest] = await db.select({ ttl: max(clients.accessTokenTtl) }).from(clients);
  const lifetimeMs = Math.max(options.accessTokenTtlMs, (longest?.ttl ?? 0) * 1000);
  const retired = await db
    .update(signingKeys)
    .set({ status: "retired", retiredAt: now })
    .where(
      and(
        eq(signingKeys.status, "previous"),
        lte(signingKeys.deactivatedAt, now - lifetimeMs - VERIFIER_SKEW_MS),
      ),
    )
    .returning({ kid: signingKeys.kid });

  const result: KeyMaintenance = { retired: retired.map((r) => r.kid) };
  if (options.rotationIntervalMs <= 0) return result;
  const rows = await db.select().from(signingKeys);
  const current = rows.find((r) => r.status === "current");
  const next = rows.find((r) => r.status === "next");
  if (!current || !next) return result;
  const due = (current.activatedAt ?? current.createdAt) + options.rotationIntervalMs <= now;
  const published = next.createdAt + JWKS_MAX_AGE_S * 1000 <= now;
  if (due && published) result.rotated = await rotateSigningKeys(db, options);
  return result;
}
