import { inArray } from "drizzle-orm";
import { compactDecrypt, importJWK, type JWK } from "jose";
import type { Clock } from "../clock.ts";
import { signingKeys } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { sha256Base64url } from "../lib/sha256.ts";

/** The key that signs access tokens now. */
export type SigningKey = { kid: string; alg: string; privateKey: CryptoKey };

/** The JWKS document and its strong validator. */
export type JwksDocument = { body: string; etag: string; algs: string[] };

/** Reads signing keys, with a short in-memory cache so a rotation reaches every instance. */
export type KeyStore = {
  /** The `current` key, decrypted and imported. */
  signingKey(): Promise<SigningKey>;
  /** The public key for `kid` if it is published (next, current or previous). */
  verificationKey(kid: string): Promise<{ alg: string; key: CryptoKey } | undefined>;
  /** `{"keys": [...]}` of next, current and previous keys. */
  jwks(): Promise<JwksDocument>;
  /** Drops the cache (after a rotation in this process). */
  invalidate(): void;
};

/** JWKS cache lifetime; a `next` key is published at least this long before it signs. */
export const JWKS_MAX_AGE_S = 300;

/** Instances cache keys for at most 60 s, so a rotation reaches all of them (docs/design/keys.md#instance-cache). */
export const KEY_CACHE_MS = 30_000;

type Snapshot = {
  loadedAt: number;
  signing: SigningKey;
  verification: Map<string, { alg: string; key: CryptoKey }>;
  jwks: JwksDocument;
};

const PUBLISHED = ["next", "current", "previous"] as const;

/** Creates the key store over `signing_keys`. Keys are imported once per snapshot. */
export function createKeyStore(options: {
  db: Database;
  keyEncryptionKey: Uint8Array;
  clock: Clock;
  cacheMs?: number;
}): KeyStore {
  const cacheMs = options.cacheMs ?? KEY_CACHE_MS;
  let snapshot: Snapshot | undefined;
  let loading: Promise<Snapshot> | undefined;
  // Imported keys never change for a kid, so they outlive snapshots.
  const imported = new Map<string, { alg: string; key: CryptoKey }>();
  const privateKeys = new Map<string, CryptoKey>();

  async function load(): Promise<Snapshot> {
    const rows = await options.db
      .select()
      .from(signingKeys)
      .where(inArray(signingKeys.status, [...PUBLISHED]));
    const current = rows.find((r) => r.status === "current");
    if (!current) throw new Error("No current signing key: run the start-up key check");
    const verification = new Map<string, { alg: string; key: CryptoKey }>();
    const keys: JWK[] = [];
    // Order: current first, then next, then previous; stable across loads for the ETag.
    const order = { current: 0, next: 1, previous: 2, retired: 3 } as const;
    rows.sort((a, b) => order[a.status] - order[b.status] || a.kid.localeCompare(b.kid));
    for (const row of rows) {
      const jwk = JSON.parse(row.publicJwk) as JWK;
      keys.push(jwk);
      let entry = imported.get(row.kid);
      if (!entry) {
        entry = { alg: row.alg, key: (await importJWK(jwk, row.alg)) as CryptoKey };
        imported.set(row.kid, entry);
      }
      verification.set(row.kid, entry);
    }
    let privateKey = privateKeys.get(current.kid);
    if (!privateKey) {
      const { plaintext } = await compactDecrypt(current.privateJwkJwe, options.keyEncryptionKey);
      const jwk = JSON.parse(new TextDecoder().decode(plaintext)) as JWK;
      privateKey = (await importJWK(jwk, current.alg)) as CryptoKey;
      privateKeys.set(current.kid, privateKey);
    }
    const body = JSON.stringify({ keys });
    return {
      loadedAt: options.clock.now(),
      signing: { kid: current.kid, alg: current.alg, privateKey },
      verification,
      jwks: {
        body,
        etag: `"${await sha256Base64url(body)}"`,
        algs: [...new Set(rows.map((r) => r.alg))],
      },
    };
  }

  async function get(): Promise<Snapshot> {
    const now = options.clock.now();
    if (snapshot && now - snapshot.loadedAt < cacheMs && now >= snapshot.loadedAt) return snapshot;
    // One load at a time; concurrent callers share it.
    loading ??= load().finally(() => {
      loading = undefined;
    });
    snapshot = await loading;
    return snapshot;
  }

  return {
    signingKey: async () => (await get()).signing,
    verificationKey: async (kid) => (await get()).verification.get(kid),
    jwks: async () => (await get()).jwks,
    invalidate: () => {
      snapshot = undefined;
    },
  };
}
