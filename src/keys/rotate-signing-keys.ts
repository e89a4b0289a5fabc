import { and, eq, inArray } from "drizzle-orm";
import type { SigningAlg } from "../config.ts";
import { isUniqueViolation } from "../db/errors.ts";
import { signingKeys } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { generateSigningKey } from "./generate-signing-key.ts";

/** What a rotation of one algorithm's keys did. */
export type Rotation = { alg: SigningAlg; current: string; previous: string; next: string };

/** Thrown when another process rotated `alg` at the same moment; its keys were not changed. */
export class RotationConflictError extends Error {
  readonly code = "ERR_ROTATION_CONFLICT";
  constructor(readonly alg: SigningAlg) {
    super(
      `Another rotation of the ${alg} keys ran at the same time; they are unchanged by this one`,
    );
    this.name = "RotationConflictError";
  }
}

/**
 * Rotates the keys of `options.alg` in one atomic batch (docs/design/keys.md#rotation): `next` → `current`,
 * `current` → `previous` (still published until its tokens expire), and a new `next`.
 * The new current was already in every cached JWKS as `next`, so verifiers know it.
 * A concurrent rotation makes the batch fail on the one-`next`-per-alg unique index and roll
 * back. Other algorithms' keys are not touched.
 */
export async function rotateSigningKeys(
  db: Database,
  options: { alg: SigningAlg; keyEncryptionKey: Uint8Array; now: number },
): Promise<Rotation> {
  const rows = await db
    .select({ kid: signingKeys.kid, status: signingKeys.status })
    .from(signingKeys)
    .where(and(eq(signingKeys.alg, options.alg), inArray(signingKeys.status, ["current", "next"])));
  const current = rows.find((r) => r.status === "current");
  const next = rows.find((r) => r.status === "next");
  if (!current || !next) throw new Error(`Rotation needs a current and a next ${options.alg} key`);
  const { now } = options;
  const fresh = await generateSigningKey({ ...options, status: "next" });
  try {
    await db.batch([
      db
        .update(signingKeys)
        .set({ status: "previous", deactivatedAt: now })
        .where(and(eq(signingKeys.kid, current.kid), eq(signingKeys.status, "current"))),
      db
        .update(signingKeys)
        .set({ status: "current", activatedAt: now })
        .where(and(eq(signingKeys.kid, next.kid), eq(signingKeys.status, "next"))),
      db.insert(signingKeys).values(fresh),
    ]);
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new RotationConflictError(options.alg);
    }
    throw error;
  }
  return { alg: options.alg, current: next.kid, previous: current.kid, next: fresh.kid };
}
