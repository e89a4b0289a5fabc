import { eq } from "drizzle-orm";
import type { SigningAlg } from "../config.ts";
import { signingKeys } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { generateSigningKey } from "./generate-signing-key.ts";

/**
 * Makes sure a `current` and a `next` key exist. A new installation gets its first key
 * `current` at once (nobody can have cached anything yet) together with a `next`.
 * Idempotent and race-safe: the partial unique indexes on `status` make a second
 * concurrent start's insert a no-op, so there is never a second current key.
 */
export async function ensureSigningKeys(
  db: Database,
  options: { alg: SigningAlg; keyEncryptionKey: Uint8Array; now: number },
): Promise<void> {
  for (const status of ["current", "next"] as const) {
    const existing = await db
      .select({ kid: signingKeys.kid })
      .from(signingKeys)
      .where(eq(signingKeys.status, status))
      .limit(1);
    if (existing.length > 0) continue;
    const key = await generateSigningKey({ ...options, status });
    await db.insert(signingKeys).values(key).onConflictDoNothing();
  }
}
