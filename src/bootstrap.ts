import { createApp } from "./app.ts";
import { pruneChallenges } from "./challenges/redeem-challenge.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { Config } from "./config.ts";
import type { Database } from "./db/types.ts";
import type { AppDeps } from "./deps.ts";
import { createMailer, type SmtpMailerFactory } from "./email/create-mailer.ts";
import type { Mailer } from "./email/message.ts";
import { pruneEvents } from "./events/auth-events.ts";
import {
  ensureSigningKeys,
  keptSigningAlgs,
  signingAlgsInUse,
} from "./keys/ensure-signing-keys.ts";
import { createKeyStore } from "./keys/key-store.ts";
import { maintainSigningKeys } from "./keys/maintain-signing-keys.ts";
import {
  type Rotation,
  RotationConflictError,
  rotateSigningKeys,
} from "./keys/rotate-signing-keys.ts";
import { createLogger, type Logger } from "./lib/logger.ts";
import type { Schedule } from "./lib/schedule.ts";
import { pruneAuthorizationCodes } from "./oauth/authorization-codes.ts";
import { pruneAuthorizationRequests } from "./oauth/authorization-requests.ts";
import { ID_TOKEN_TTL_S } from "./oauth/id-token.ts";
import { createPasswordHasher, type PasswordHasher } from "./passwords/hasher.ts";
import { pruneUpstreamNonces } from "./providers/native-nonce.ts";
import { pruneUpstreamAuthorizations } from "./providers/upstream-leg.ts";
import { pruneThrottles } from "./rate-limits/prune-throttles.ts";
import { deriveKeys } from "./secrets/derive-keys.ts";
import { pruneBrowserSessions } from "./sso/browser-sessions.ts";
import { batchedUserReads } from "./users/batched-user-reads.ts";

/** What an entry file knows about its runtime. */
export type BootstrapInput = {
  config: Config;
  db: Database;
  /** The master secret (TESSERA_SECRET or the development secret file). */
  secret: string;
  clock?: Clock;
  logger?: Logger;
  /** A hasher, or its concurrency for the default scrypt hasher at `config.scryptLogN`. */
  hasher?: PasswordHasher | { concurrency: number };
  /** The SMTP transport, where the runtime has one (Node). */
  smtp?: SmtpMailerFactory;
  /** A mailer to use instead of `EMAIL_TRANSPORT`'s (tests that stall delivery). */
  mailer?: Mailer;
  waitUntil?: AppDeps["waitUntil"];
  groupCommit?: AppDeps["groupCommit"];
  /**
   * Schedules a batch of user reads after the current event-loop turn (Node: `setImmediate`).
   * Unset (the Worker), each read is its own query.
   */
  batchReads?: Schedule;
  socketAddress?: AppDeps["socketAddress"];
  assets?: AppDeps["assets"];
};

/**
 * The runtime-independent start-up both entries share: derive sub-keys from the master
 * secret, make sure signing keys exist, and build the app over its dependencies.
 */
export async function bootstrap(input: BootstrapInput) {
  const { config, db } = input;
  const clock = input.clock ?? systemClock;
  const logger = input.logger ?? createLogger(config.logLevel);
  if (!config.rateLimits) {
    logger.warn("rate_limits_off", { message: "RATE_LIMITS=off: no per-IP rate limits" });
  }
  const {
    refreshMacKey,
    keyEncryptionKey,
    emailCodeKey,
    webhookSigningKey,
    formCsrfKey,
    providerSecretKey,
  } = await deriveKeys(input.secret);
  if (config.production && config.email.transport.kind === "log") {
    logger.warn("email_transport_log", {
      message: "EMAIL_TRANSPORT=log in production: no email is delivered",
    });
  }
  const { mailer, outbox } = createMailer(config, {
    logger,
    fetch: (url, init) => fetch(url, init),
    webhookSigningKey,
    now: () => clock.now(),
    smtp: input.smtp,
  });
  // SIGNING_ALG (access tokens) and RS256 (ID tokens), in parallel: a first start generates
  // two RSA keys (~0.1–0.3 s each; docs/design/keys.md#algorithms), a restart only reads.
  const algs = keptSigningAlgs(config.signingAlg);
  await Promise.all(
    algs.map((alg) => ensureSigningKeys(db, { alg, keyEncryptionKey, now: clock.now() })),
  );
  const hasher =
    input.hasher && "hash" in input.hasher
      ? input.hasher
      : createPasswordHasher({
          params: { ln: config.scryptLogN, r: 8, p: 5 },
          concurrency: input.hasher?.concurrency ?? 1,
        });
  const deps: AppDeps = {
    config,
    db,
    clock,
    keys: createKeyStore({ db, keyEncryptionKey, clock, defaultAlg: config.signingAlg }),
    hasher,
    refreshMacKey,
    emailCodeKey,
    formCsrfKey,
    providerSecretKey,
    mailer: input.mailer ?? mailer,
    outbox: input.mailer ? undefined : outbox,
    waitUntil: input.waitUntil,
    groupCommit: input.groupCommit,
    userById: batchedUserReads(db, input.batchReads),
    logger,
    socketAddress: input.socketAddress,
    assets: input.assets,
  };
  return {
    app: createApp(deps),
    deps,
    /** Scheduled maintenance: retire expired keys, rotate when due. */
    maintainKeys: async () => {
      const done = await maintainSigningKeys(db, {
        algs,
        keyEncryptionKey,
        now: clock.now(),
        rotationIntervalMs: config.keyRotationInterval * 1000,
        // Keys sign ID tokens too: retire none before those have expired either.
        accessTokenTtlMs: Math.max(config.accessTokenTtl, ID_TOKEN_TTL_S) * 1000,
      });
      if (done.rotated.length > 0 || done.retired.length > 0) {
        deps.keys.invalidate();
        logger.info("signing_keys_maintained", { ...done });
      }
      return done;
    },
    /**
     * Scheduled clean-up: stale rate-limit counters and sign-in delays, auth events past
     * `AUTH_EVENTS_RETENTION`, expired email challenges, authorization requests and codes,
     * ended browser sessions, unfinished upstream legs and the nonces of expired upstream tokens.
     */
    pruneStale: async () => {
      const now = clock.now();
      const pruned = {
        ...(await pruneThrottles(db, now)),
        authEvents: await pruneEvents(db, now - config.authEventsRetention * 1000),
        emailChallenges: await pruneChallenges(db, now),
        authorizationRequests: await pruneAuthorizationRequests(db, now),
        authorizationCodes: await pruneAuthorizationCodes(db, now),
        browserSessions: await pruneBrowserSessions(db, now),
        upstreamAuthorizations: await pruneUpstreamAuthorizations(db, now),
        upstreamNonces: await pruneUpstreamNonces(db, now),
      };
      if (Object.values(pruned).some((n) => n > 0)) {
        logger.info("pruned", pruned);
      }
      return pruned;
    },
    /**
     * Operator rotation (`keys rotate`): promotes `next` at once, for every algorithm that has
     * keys (SIGNING_ALG's first), each in its own batch. If another rotation of an algorithm
     * ran at the same moment, the others still rotate and its {@link RotationConflictError}
     * is thrown at the end.
     */
    rotateKeys: async (): Promise<Rotation[]> => {
      const rotations: Rotation[] = [];
      let conflict: RotationConflictError | undefined;
      for (const alg of await signingAlgsInUse(db, algs)) {
        try {
          rotations.push(await rotateSigningKeys(db, { alg, keyEncryptionKey, now: clock.now() }));
        } catch (error) {
          if (!(error instanceof RotationConflictError)) throw error;
          conflict ??= error;
        }
      }
      deps.keys.invalidate();
      if (rotations.length > 0) logger.info("signing_keys_rotated", { rotations });
      if (conflict) throw conflict;
      return rotations;
    },
  };
}
