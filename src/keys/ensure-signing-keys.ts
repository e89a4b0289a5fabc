import { and, eq, inArray } from "drizzle-orm";
import type { SigningAlg } from "../config.ts";
import { signingKeys } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { generateSigningKey } from "./generate-signing-key.ts";

/** ID tokens are signed RS256 unless a client registered another alg (OIDC Core §3.1.3.7). */
export const ID_TOKEN_DEFAULT_ALG = "RS256" satisfies SigningAlg;

/**
 * The algorithms every installation keeps keys for: `SIGNING_ALG` (access tokens) and RS256
 * (ID tokens), `SIGNING_ALG` first. A client's `id_token_signed_response_alg` is added by
 * ensuring its keys when the client is registered (docs/design/keys.md#algorithms).
 */
export function keptSigningAlgs(signingAlg: SigningAlg): SigningAlg[] {
  return [...new Set<SigningAlg>([signingAlg, ID_TOKEN_DEFAULT_ALG])];
}

/**
 * `kept` plus every other algorithm that has a `current` key (a client's ID-token alg, or a
 * former `SIGNING_ALG`): the algorithms rotation and maintenance look after, `kept` first.
 */
export async function signingAlgsInUse(
  db: Database,
  kept: readonly SigningAlg[],
): Promise<SigningAlg[]> {
  const rows = await db
    .selectDistinct({ alg: signingKeys.alg })
    .from(signingKeys)
    .where(eq(signingKeys.status, "current"));
  const others = rows.map((r) => r.alg as SigningAlg).sort();
  return [...new Set([...kept, ...others])];
}

/**
 * Makes sure `alg` has a `current` and a `next` key. An algorithm without keys (a new
 * installation, or an algorithm newly kept) gets its first key `current` at once — no token
 * of that algorithm exists yet — together with a `next`. Missing keys are generated in
 * parallel (RSA generation is the slow part). Idempotent and race-safe: the partial unique
 * indexes on `alg` per status make a second concurrent start's insert a no-op, so there is
 * never a second current key of an algorithm.
 */
export async function ensureSigningKeys(
  db: Database,
  options: { alg: SigningAlg; keyEncryptionKey: Uint8Array; now: number },
): Promise<void> {
  const existing = await db
    .select({ status: signingKeys.status })
    .from(signingKeys)
    .where(and(eq(signingKeys.alg, options.alg), inArray(signingKeys.status, ["current", "next"])));
  const missing = (["current", "next"] as const).filter(
    (status) => !existing.some((row) => row.status === status),
  );
  if (missing.length === 0) return;
  const keys = await Promise.all(
    missing.map((status) => generateSigningKey({ ...options, status })),
  );
  // DO NOTHING applies per row: a key another process inserted first wins, the rest go in.
  await db.insert(signingKeys).values(keys).onConflictDoNothing();
}
