/**
 * What both Node entries (server and CLI) need from the machine: the master secret and the
 * libSQL database with migrations applied.
 */
import { KeyObject, sign } from "node:crypto";
import { link, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createTransport } from "nodemailer";
import { type Config, ConfigError } from "./config.ts";
import { openNodeDatabase } from "./db/libsql-node.ts";
import type { SmtpMailerFactory } from "./email/create-mailer.ts";
import type { SignBytes } from "./keys/sign-bytes.ts";
import { generateSecret } from "./secrets/derive-keys.ts";
import type { GroupCommit } from "./tokens/rotation-commits.ts";

/** The committed migrations: `src/node.ts` and the built `dist/node.js` both sit one level down. */
const MIGRATIONS_FOLDER = fileURLToPath(new URL("../migrations", import.meta.url));
const DEV_SECRET_FILE = "./data/secret";

/** TESSERA_SECRET, or in development the contents of ./data/secret (created 0600). */
export async function masterSecret(config: Config): Promise<string> {
  if (config.secret) return config.secret;
  if (config.production) {
    throw new ConfigError("TESSERA_SECRET", "required when NODE_ENV=production");
  }
  try {
    return (await readFile(DEV_SECRET_FILE, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(dirname(DEV_SECRET_FILE), { recursive: true });
  // Write a private temp file, then link it into place: link() fails if the secret exists,
  // so a concurrent start never sees a half-written file nor overwrites another's secret.
  const temp = `${DEV_SECRET_FILE}.${process.pid}.tmp`;
  await writeFile(temp, `${generateSecret()}\n`, { mode: 0o600 });
  try {
    await link(temp, DEV_SECRET_FILE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await unlink(temp);
  }
  return (await readFile(DEV_SECRET_FILE, "utf8")).trim();
}

/** Opens the configured database (migrations applied) and reads the master secret. */
export async function openNodeRuntime(config: Config) {
  const secret = await masterSecret(config);
  const { db, client } = await openNodeDatabase({
    url: config.databaseUrl,
    authToken: config.databaseAuthToken,
    migrationsFolder: MIGRATIONS_FOLDER,
  });
  return { db, client, secret };
}

/**
 * A log sink for stdout that gathers the lines of one event-loop turn and writes them with a
 * single `write`: stdout to a pipe or file is synchronous on Linux, and a write per request
 * line cost a third of the JWKS endpoint's CPU in the profile. Flushed on exit.
 */
export function bufferedStdout(): (line: string) => void {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const chunk = `${pending.join("\n")}\n`;
    pending = [];
    process.stdout.write(chunk);
  };
  process.once("exit", flush);
  return (line) => {
    pending.push(line);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

/**
 * `EMAIL_TRANSPORT=smtp://…` / `smtps://…` on Node, through nodemailer (credentials, port and
 * TLS come from the URL, e.g. `smtps://user:pass@smtp.example.com:465`). Workers have no SMTP.
 */
export const smtpMailer: SmtpMailerFactory = (url) => {
  const transport = createTransport(url);
  return {
    async send(message) {
      await transport.sendMail({
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
      });
    },
  };
};

/** Each private key as node:crypto's KeyObject, made once. */
const keyObjects = new WeakMap<CryptoKey, KeyObject>();

/**
 * JWS signatures with node:crypto's synchronous `sign`: jose signs only through WebCrypto,
 * which on Node is a thread-pool job per token (main-thread dispatch, a pool thread woken,
 * the result posted back); this one call costs less in all (docs/performance.md). ECDSA
 * signatures come as R ‖ S (`ieee-p1363`), as JWS wants them (RFC 7518 §3.4).
 */
export const nodeSignBytes: SignBytes = (alg, privateKey, data) => {
  let key = keyObjects.get(privateKey);
  if (!key) {
    key = KeyObject.from(privateKey as Parameters<typeof KeyObject.from>[0]);
    keyObjects.set(privateKey, key);
  }
  return sign(alg === "EdDSA" ? null : "sha256", data, { key, dsaEncoding: "ieee-p1363" });
};

/**
 * Group commit on Node (docs/performance.md): the rotations of the requests read in one I/O
 * phase commit together right after it (`setImmediate`). On the embedded file a second batch
 * may be sent while the first commits (the database thread runs them in order); on a server
 * (`protocol` http, ws, libsql) one at a time, since a second would wait on the first's lock.
 */
export function nodeGroupCommit(client: { protocol: string }): GroupCommit {
  return {
    schedule: (flush) => setImmediate(flush),
    maxInFlight: client.protocol === "file" ? 2 : 1,
  };
}
