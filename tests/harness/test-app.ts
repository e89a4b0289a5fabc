import { type BootstrapInput, bootstrap } from "../../src/bootstrap.ts";
import { createClient } from "../../src/clients/client-store.ts";
import { parseConfig, type SigningAlg } from "../../src/config.ts";
import type { Database } from "../../src/db/types.ts";
import type { SmtpMailerFactory } from "../../src/email/create-mailer.ts";
import { ensureSigningKeys } from "../../src/keys/ensure-signing-keys.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { randomSecret } from "../../src/lib/random-id.ts";
import { createPasswordHasher, type PasswordHasher } from "../../src/passwords/hasher.ts";
import { deriveKeys } from "../../src/secrets/derive-keys.ts";
import type { GroupCommit } from "../../src/tokens/rotation-commits.ts";
import { createTestClock, type Harness } from "./types.ts";

/** Test scrypt cost: the PHC format and code path are the production ones, only cheaper. */
export const TEST_SCRYPT_PARAMS = { ln: 10, r: 8, p: 1 };

/** What `bootstrap` returns: the app and the operations the entries run. */
type Runtime = Awaited<ReturnType<typeof bootstrap>>;

/**
 * A runtime entry that builds the app itself (the Worker's `createWorker`), given the harness's
 * clock, hasher and logger: its runtime for `env`, and how a request reaches its handler.
 */
export type HarnessEntry = (
  overrides: Required<Pick<BootstrapInput, "clock" | "hasher" | "logger">>,
  env: Record<string, string>,
) => Promise<{ runtime: Runtime; fetch(request: Request): Promise<Response> }>;

/** Builds the app over `db` as the entries do, with a hand-moved clock and captured logs. */
export async function testHarness(
  db: Database,
  env: Record<string, string>,
  close: () => Promise<void>,
  /**
   * What only some runtimes have: the SMTP transport, group commit and batched user reads
   * (Node); an entry that builds the app and receives every request (the Worker's fetch
   * handler) instead of `bootstrap` here.
   */
  runtime: {
    smtp?: SmtpMailerFactory;
    groupCommit?: GroupCommit;
    batchReads?: BootstrapInput["batchReads"];
    entry?: HarnessEntry;
  } = {},
): Promise<Harness> {
  const vars = { TESSERA_SECRET: randomSecret(), LOG_LEVEL: "debug", ...env };
  const config = parseConfig(vars);
  const clock = createTestClock();
  const logs: string[] = [];
  // Count derivations, so tests can check that every login path costs the same.
  const inner = createPasswordHasher({ params: TEST_SCRYPT_PARAMS });
  let derivations = 0;
  const counted =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A) => {
      derivations++;
      return fn(...args);
    };
  // A test can hold the next verification until it releases it, to interleave requests.
  let held: { gate: Promise<void>; reached: () => void } | undefined;
  const hasher: PasswordHasher = {
    hash: counted(inner.hash),
    verify: counted(async (password: string, phc: string) => {
      const result = await inner.verify(password, phc);
      const hold = held;
      held = undefined;
      if (hold) {
        hold.reached();
        await hold.gate;
      }
      return result;
    }),
    verifyDummy: counted(inner.verifyDummy),
  };
  let closing: Promise<void> | undefined;
  const logger = createLogger(config.logLevel, (line) => logs.push(line));
  let request: Harness["request"];
  let built: Runtime;
  if (runtime.entry) {
    const entry = await runtime.entry({ clock, hasher, logger }, vars);
    built = entry.runtime;
    request = (path, init) => entry.fetch(new Request(new URL(path, "http://localhost"), init));
  } else {
    built = await bootstrap({
      config,
      db,
      secret: config.secret as string,
      clock,
      logger,
      hasher,
      socketAddress: () => "127.0.0.1",
      smtp: runtime.smtp,
      groupCommit: runtime.groupCommit,
      batchReads: runtime.batchReads,
    });
    const { app } = built;
    request = async (path, init) => app.request(path, init);
  }
  const { deps, rotateKeys, maintainKeys, pruneStale } = built;
  return {
    request,
    clock,
    config,
    logs,
    signingKey: (alg) => deps.keys.signingKey(alg),
    hashCount: () => derivations,
    holdNextVerify: () => {
      let release = () => {};
      let reached = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const arrived = new Promise<void>((resolve) => {
        reached = resolve;
      });
      held = { gate, reached };
      return { reached: arrived, release };
    },
    db,
    rotateKeys: async () => {
      const rotations = await rotateKeys();
      const own = rotations.find((r) => r.alg === config.signingAlg);
      if (!own) throw new Error(`no ${config.signingAlg} rotation`);
      return { ...own, byAlg: Object.fromEntries(rotations.map((r) => [r.alg, r])) };
    },
    maintainKeys,
    pruneStale,
    registerClient: async (input) => {
      const { client, clientSecret } = await createClient(db, input, clock.now());
      if (input.idTokenSignedResponseAlg) {
        // As the CLI does: the client's ID-token alg gets keys from now on.
        const { keyEncryptionKey } = await deriveKeys(config.secret as string);
        await ensureSigningKeys(db, {
          alg: input.idTokenSignedResponseAlg as SigningAlg,
          keyEncryptionKey,
          now: clock.now(),
        });
      }
      return { clientId: client.clientId, clientSecret };
    },
    // Once only: `openHarness` closes at the end of the test even if the test closed it already.
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}
