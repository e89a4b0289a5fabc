import { inArray } from "drizzle-orm";
import { compactDecrypt, importJWK, type JWK } from "jose";
import type { Clock } from "../clock.ts";
import type { SigningAlg } from "../config.ts";
import { signingKeys } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { sha256Base64url } from "../lib/sha256.ts";

/** The key that signs tokens of its algorithm now. */
export type SigningKey = { kid: string; alg: string; privateKey: CryptoKey };

/** The JWKS document, its strong validator, and the algorithms of the keys it publishes. */
export type JwksDocument = { body: string; etag: string; algs: string[] };

/** Reads signing keys, with a short in-memory cache so a rotation reaches every instance. */
export type KeyStore = {
  /**
   * The `current` key of `alg` (default: the store's `defaultAlg`, i.e. `SIGNING_ALG`),
   * decrypted and imported. A cached lookup; an algorithm missing from the snapshot is
   * reloaded once (its keys may have just been made by another process), then refused.
   */
  signingKey(alg?: SigningAlg): Promise<SigningKey>;
  /** The public key for `kid` if it is published (next, current or previous). */
  verificationKey(kid: string): Promise<{ alg: string; key: CryptoKey } | undefined>;
  /** `{"keys": [...]}` of next, current and previous keys of every algorithm. */
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
  /** The current key of each algorithm that has one. */
  signing: Map<string, SigningKey>;
  verification: Map<string, { alg: string; key: CryptoKey }>;
  jwks: JwksDocument;
};

const PUBLISHED = ["next", "current", "previous"] as const;

/** Creates the key store over `signing_keys`. Keys are imported once per kid. */
export function createKeyStore(options: {
  db: Database;
  keyEncryptionKey: Uint8Array;
  clock: Clock;
  /** The algorithm `signingKey()` answers for without an argument (`SIGNING_ALG`). */
  defaultAlg: SigningAlg;
  cacheMs?: number;
}): KeyStore {
  const { defaultAlg } = options;
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
    const verification = new Map<string, { alg: string; key: CryptoKey }>();
    const keys: JWK[] = [];
    // Order: current first, then next, then previous; within a status the default algorithm
    // first, then by alg and kid. Stable across loads for the ETag.
    const order = { current: 0, next: 1, previous: 2, retired: 3 } as const;
    const algRank = (alg: string) => (alg === defaultAlg ? 0 : 1);
    rows.sort(
      (a, b) =>
        order[a.status] - order[b.status] ||
        algRank(a.alg) - algRank(b.alg) ||
        a.alg.localeCompare(b.alg) ||
        a.kid.localeCompare(b.kid),
    );
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
    const signing = new Map<string, SigningKey>();
    for (const current of rows.filter((r) => r.status === "current")) {
      let privateKey = privateKeys.get(current.kid);
      if (!privateKey) {
        const { plaintext } = await compactDecrypt(current.privateJwkJwe, options.keyEncryptionKey);
        const jwk = JSON.parse(new TextDecoder().decode(plaintext)) as JWK;
        privateKey = (await importJWK(jwk, current.alg)) as CryptoKey;
        privateKeys.set(current.kid, privateKey);
      }
      signing.set(current.alg, { kid: current.kid, alg: current.alg, privateKey });
    }
    const body = JSON.stringify({ keys });
    return {
      loadedAt: options.clock.now(),
      signing,
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
    return reload();
  }

  async function reload(): Promise<Snapshot> {
    // One load at a time; concurrent callers share it.
    loading ??= load().finally(() => {
      loading = undefined;
    });
    snapshot = await loading;
    return snapshot;
  }

  return {
    signingKey: async (alg = defaultAlg) => {
      const found = (await get()).signing.get(alg) ?? (await reload()).signing.get(alg);
      if (!found) throw new Error(`No current ${alg} signing key: run the start-up key check`);
      return found;
    },
    verificationKey: async (kid) => (await get()).verification.get(kid),
    jwks: async () => (await get()).jwks,
    invalidate: () => {
      snapshot = undefined;
    },
  };
}
