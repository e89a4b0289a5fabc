import type { Context } from "hono";
import type { Clock } from "./clock.ts";
import type { Config } from "./config.ts";
import type { Database } from "./db/types.ts";
import type { Mailer } from "./email/message.ts";
import type { Outbox } from "./email/transports/log.ts";
import type { KeyStore } from "./keys/key-store.ts";
import type { Logger } from "./lib/logger.ts";
import type { PasswordHasher } from "./passwords/hasher.ts";
import type { GroupCommit } from "./tokens/rotation-commits.ts";
import type { User } from "./users/users.ts";

/**
 * Everything the app needs from its runtime, built by an entry file (Node or Workers)
 * and handed to `createApp`. No feature reads the environment or opens a database itself.
 */
export type AppDeps = {
  config: Config;
  db: Database;
  clock: Clock;
  keys: KeyStore;
  hasher: PasswordHasher;
  /** HMAC key for refresh tokens, derived from the master secret. */
  refreshMacKey: Uint8Array;
  /** HMAC key under which emailed codes are stored, derived from the master secret. */
  emailCodeKey: Uint8Array;
  /** HMAC key binding a hosted page's CSRF form field to its cookie, derived from the master secret. */
  formCsrfKey: Uint8Array;
  /** Key sealing upstream providers' client secrets and Apple keys (JWE `dir` + `A256GCM`). */
  providerSecretKey: Uint8Array;
  /** Delivers messages (`EMAIL_TRANSPORT`). */
  mailer: Mailer;
  /** Development only (`EMAIL_TRANSPORT=log`, not production): what was "sent". */
  outbox?: Outbox;
  /**
   * Keeps work running after the response (a mail send): the Worker's `waitUntil`. Without
   * it (Node) the work simply continues on the event loop.
   */
  waitUntil?: (c: Context, task: Promise<unknown>) => void;
  logger: Logger;
  /**
   * Group commit for refresh rotations (docs/performance.md, "What each lever gave", a): the
   * Node entry schedules a flush after the event loop's I/O phase, so the rotations of the
   * requests read together commit in one transaction. Unset (the Worker), each commits alone.
   */
  groupCommit?: GroupCommit;
  /**
   * The user with this id, for the read-only Bearer endpoints (`GET /v1/me`, userinfo,
   * `GET /v1/events`). On Node the reads of one event-loop I/O phase are one query
   * (src/users/batched-user-reads.ts); on the Worker each is its own.
   */
  userById: (id: string) => Promise<User | undefined>;
  /** The peer address of the connection, when the runtime knows it. */
  socketAddress?: (c: Context) => string | undefined;
  /**
   * Static files (`dist/static`, laid out by URL path): the Node entry reads the directory,
   * the Worker passes its ASSETS binding. Without it, asset paths answer 404.
   */
  assets?: { fetch(request: Request): Promise<Response> };
};
