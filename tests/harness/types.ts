import type { NewClient } from "../../src/clients/client-store.ts";
import type { Config, SigningAlg } from "../../src/config.ts";
import type { Database } from "../../src/db/types.ts";

/** A clock tests move by hand; starts at the wall clock so real verifiers agree. */
export type TestClock = { now(): number; advance(ms: number): void; set(ms: number): void };

export function createTestClock(start = Date.now()): TestClock {
  let current = start;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
    set: (ms) => {
      current = ms;
    },
  };
}

/** The kids one algorithm's rotation moved. */
export type KeyRotation = { current: string; previous: string; next: string };

/** What a behavioural case needs from a runtime: an app to speak HTTP to and its clock. */
export type Harness = {
  request(path: string, init?: RequestInit): Promise<Response>;
  clock: TestClock;
  config: Config;
  /**
   * The server's current signing key of `alg` (default: SIGNING_ALG's, which signs access
   * tokens), so tests can craft tokens it would sign.
   */
  signingKey(alg?: SigningAlg): Promise<{ kid: string; alg: string; privateKey: CryptoKey }>;
  /** The app's database, for tests that act as another process would (e.g. the CLI). */
  db: Database;
  /**
   * Operator rotation, as `npm run keys -- rotate` in this process: every algorithm rotates.
   * The top-level kids are SIGNING_ALG's rotation; `byAlg` has every algorithm's.
   */
  rotateKeys(): Promise<KeyRotation & { byAlg: Record<string, KeyRotation> }>;
  /** Scheduled key maintenance, as the cron trigger / Node timer runs it. */
  maintainKeys(): Promise<{ rotated: Array<KeyRotation & { alg: string }>; retired: string[] }>;
  /** Scheduled pruning of stale rate-limit counters, sign-in delays, old auth events, expired email challenges and upstream legs and nonces. */
  pruneStale(): Promise<{
    rateLimits: number;
    loginThrottles: number;
    authEvents: number;
    emailChallenges: number;
    authorizationRequests: number;
    authorizationCodes: number;
    browserSessions: number;
    upstreamAuthorizations: number;
    upstreamNonces: number;
  }>;
  /** Registers an OAuth client as `npm run clients -- create` does. */
  registerClient(input: NewClient): Promise<{ clientId: string; clientSecret?: string }>;
  /** Holds the next password verification (after hashing): `reached` resolves when it is held, `release` lets it go on. */
  holdNextVerify(): { reached: Promise<void>; release: () => void };
  /** How many scrypt derivations the app has run so far (hash, verify or dummy). */
  hashCount(): number;
  /** Log lines written while the harness ran (JSON strings). */
  logs: string[];
  close(): Promise<void>;
};

/** Creates a harness with configuration overrides (env-style variables). */
export type HarnessFactory = (env?: Record<string, string>) => Promise<Harness>;
