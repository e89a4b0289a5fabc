import { scrypt, timingSafeEqual } from "node:crypto";
import { HasherBusy } from "../errors.ts";
import { formatScryptPhc, parseScryptPhc, type ScryptParams } from "./phc.ts";

/** Hashes and verifies passwords; one instance per process, shared by all requests. */
export type PasswordHasher = {
  /** A PHC string for `password` at the configured cost. */
  hash(password: string): Promise<string>;
  /**
   * Checks `password` against `phc` in constant time. `needsRehash` is true when the
   * stored parameters differ from the configured ones (login then stores a new hash).
   */
  verify(password: string, phc: string): Promise<{ valid: boolean; needsRehash: boolean }>;
  /** Spends one verification's cost on nothing, so an unknown email costs what a known one does. */
  verifyDummy(password: string): Promise<void>;
};

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

/** OWASP Password Storage Cheat Sheet row: N=2^14 (16 MiB with r=8), r=8, p=5. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { ln: 14, r: 8, p: 5 };

function scryptAsync(password: string, salt: Uint8Array, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.ln;
  // Node refuses scrypt whose working set (128·N·r) exceeds maxmem (32 MiB by default).
  const maxmem = 128 * N * params.r + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { N, r: params.r, p: params.p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/**
 * An scrypt hasher running through the async `crypto.scrypt` (libuv pool on Node, never the
 * sync call), at most `concurrency` at once and `maxQueue` waiting; a full queue throws
 * {@link HasherBusy} rather than piling up memory during a login storm.
 */
export function createPasswordHasher(
  options: { params?: ScryptParams; concurrency?: number; maxQueue?: number } = {},
): PasswordHasher {
  const params = options.params ?? DEFAULT_SCRYPT_PARAMS;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const maxQueue = Math.max(0, options.maxQueue ?? 256);
  let running = 0;
  const waiting: Array<() => void> = [];

  async function limited<T>(work: () => Promise<T>): Promise<T> {
    if (running >= concurrency) {
      if (waiting.length >= maxQueue) throw new HasherBusy();
      await new Promise<void>((resolve) => waiting.push(resolve));
    } else {
      running++;
    }
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next waiter, so `running` never dips and overshoots.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  }

  const derive = (password: string, salt: Uint8Array, p: ScryptParams) =>
    limited(() => scryptAsync(password, salt, p));

  const dummySalt = crypto.getRandomValues(new Uint8Array(SALT_LENGTH));

  return {
    async hash(password) {
      const salt = crypto.getRandomValues(new Uint8Array(SALT_LENGTH));
      const hash = await derive(password, salt, params);
      return formatScryptPhc({ params, salt, hash });
    },
    async verify(password, phc) {
      const parsed = parseScryptPhc(phc);
      if (!parsed) return { valid: false, needsRehash: false };
      const actual = await derive(password, parsed.salt, parsed.params);
      const valid =
        actual.byteLength === parsed.hash.byteLength && timingSafeEqual(actual, parsed.hash);
      const needsRehash =
        parsed.params.ln !== params.ln ||
        parsed.params.r !== params.r ||
        parsed.params.p !== params.p;
      return { valid, needsRehash };
    },
    async verifyDummy(password) {
      await derive(password, dummySalt, params);
    },
  };
}
