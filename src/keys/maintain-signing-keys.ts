import { and, eq, inArray, lte, max } from "drizzle-orm";
import type { SigningAlg } from "../config.ts";
import { clients, signingKeys } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { ensureSigningKeys } from "./ensure-signing-keys.ts";
import { JWKS_MAX_AGE_S } from "./key-store.ts";
import { type Rotation, RotationConflictError, rotateSigningKeys } from "./rotate-signing-keys.ts";

/** Verifiers may allow up to this much clock skew (the SDK's default is 30 s). */
const VERIFIER_SKEW_MS = 60_000;

/** What one maintenance run did: the rotations (one per algorithm that was due) and retirements. */
export type KeyMaintenance = { rotated: Rotation[]; retired: string[] };

/**
 * Scheduled key maintenance (Workers cron, Node timer), per algorithm
 * (docs/design/keys.md#scheduled-rotation):
 * - keeps a `current` and a `next` key of every algorithm in `algs` in place;
 * - retires `previous` keys once every token they signed has expired (the longest
 *   access-token lifetime, the default or any client's, plus verifier skew);
 * - rotates each algorithm with a current key (those in `algs` and any other still kept,
 *   e.g. a client's ID-token alg) whose current key is older than `rotationIntervalMs`
 *   (0: never), but only if its `next` has been published for at least the JWKS max-age, so
 *   cached verifiers hold it. Each rotation is its own batch; one another instance made at
 *   the same moment is skipped.
 */
export async function maintainSigningKeys(
  db: Database,
  options: {
    algs: readonly SigningAlg[];
    keyEncryptionKey: Uint8Array;
    now: number;
    rotationIntervalMs: number;
    accessTokenTtlMs: number;
  },
): Promise<KeyMaintenance> {
  const { now, keyEncryptionKey } = options;
  await Promise.all(
    options.algs.map((alg) => ensureSigningKeys(db, { alg, keyEncryptionKey, now })),
  );

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

  const result: KeyMaintenance = { rotated: [], retired: retired.map((r) => r.kid) };
  if (options.rotationIntervalMs <= 0) return result;
  const rows = await db
    .select()
    .from(signingKeys)
    .where(inArray(signingKeys.status, ["current", "next"]));
  const others = rows.map((r) => r.alg as SigningAlg).sort();
  const algs = [...new Set([...options.algs, ...others])];
  for (const alg of algs) {
    const current = rows.find((r) => r.alg === alg && r.status === "current");
    const next = rows.find((r) => r.alg === alg && r.status === "next");
    if (!current || !next) continue;
    const due = (current.activatedAt ?? current.createdAt) + options.rotationIntervalMs <= now;
    const published = next.createdAt + JWKS_MAX_AGE_S * 1000 <= now;
    if (!due || !published) continue;
    try {
      result.rotated.push(await rotateSigningKeys(db, { alg, keyEncryptionKey, now }));
    } catch (error) {
      // Another instance's maintenance rotated this alg at the same moment: done already.
      if (!(error instanceof RotationConflictError)) throw error;
    }
  }
  return result;
}
