/**
 * What both Node entries (server and CLI) need from the machine: the master secret and the
 * libSQL database with migrations applied.
 */
import { KeyObject, sign, webcrypto } from "node:crypto";
import { link, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createTransport } from "nodemailer";
import { type Config, ConfigError } from "./config.ts";
import { openNodeDatabase } from "./db/libsql-node.ts";
import type { SmtpMailerFactory } from "./email/create-mailer.ts";
import { randomSecret } from "./lib/random-id.ts";
import type { Schedule } from "./lib/schedule.ts";
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
  await writeFile(temp, `${randomSecret()}\n`, { mode: 0o600 });
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

const INSTALLED = Symbol.for("tessera.synchronousSigning");

/**
 * The node:crypto digest for a WebCrypto signature jose asks for: `null` for Ed25519 (no
 * digest), `undefined` when it is not one to answer here.
 */
function nodeDigest(algorithm: unknown, key: CryptoKey): string | null | undefined {
  const name = typeof algorithm === "string" ? algorithm : (algorithm as { name?: unknown })?.name;
  const keyAlgorithm = key.algorithm as {
    name: string;
    namedCurve?: string;
    hash?: { name: string };
  };
  if (key.type !== "private" || !key.usages.includes("sign") || name !== keyAlgorithm.name) {
    return undefined;
  }
  if (name === "Ed25519") return null;
  const hash = (algorithm as { hash?: unknown }).hash;
  const hashName = typeof hash === "string" ? hash : (hash as { name?: unknown } | undefined)?.name;
  if (name === "ECDSA" && keyAlgorithm.namedCurve === "P-256" && hashName === "SHA-256") {
    return "sha256";
  }
  if (name === "RSASSA-PKCS1-v1_5" && keyAlgorithm.hash?.name === "SHA-256") return "sha256";
  return undefined;
}

/**
 * Makes WebCrypto's `sign` answer on the event loop for the signatures Tessera's tokens use
 * (Ed25519, ECDSA P-256/SHA-256, RSASSA-PKCS1-v1_5/SHA-256 with a private signing key), through
 * node:crypto's synchronous `sign` on the same key. jose signs only through WebCrypto, and on
 * Node each WebCrypto signature is a job on the libuv pool: the event loop dispatches it, a
 * pool thread wakes, the result is posted back — which cost a refresh more than the signature
 * itself (docs/performance.md). The bytes are what WebCrypto gives: Ed25519 and PKCS#1 v1.5 are
 * deterministic, ECDSA comes as R ‖ S (`ieee-p1363`, RFC 7518 §3.4). Anything else, or any
 * failure, goes to Node's own implementation, so errors stay WebCrypto's. The Node entry
 * installs it once (the Worker has no pool to avoid); jose still writes every JWS.
 */
export function installSynchronousSigning(): void {
  const subtle = webcrypto.subtle as SubtleCrypto & { [INSTALLED]?: true };
  if (subtle[INSTALLED]) return;
  const webCryptoSign = subtle.sign.bind(subtle);
  subtle.sign = ((algorithm, key, data) => {
    try {
      const digest = nodeDigest(algorithm, key);
      if (digest !== undefined && ArrayBuffer.isView(data)) {
        let keyObject = keyObjects.get(key);
        if (!keyObject) {
          keyObject = KeyObject.from(key as Parameters<typeof KeyObject.from>[0]);
          keyObjects.set(key, keyObject);
        }
        const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        const signature = sign(digest, bytes, { key: keyObject, dsaEncoding: "ieee-p1363" });
        return Promise.resolve(new Uint8Array(signature).buffer);
      }
    } catch {
      // Node's WebCrypto decides, with its own error.
    }
    return webCryptoSign(algorithm, key, data);
  }) as SubtleCrypto["sign"];
  subtle[INSTALLED] = true;
}

/**
 * Runs `run` right after the event loop's current I/O phase, once the requests read in it have
 * asked for what they need: when group commit and batched user reads send their batch.
 */
export const afterIoPhase: Schedule = (run) => {
  setImmediate(run);
};

/**
 * Group commit on Node (docs/performance.md): the rotations of the requests read in one I/O
 * phase commit together right after it (`afterIoPhase`). On the embedded file a second batch
 * may be sent while the first commits (the database thread runs them in order); on a server
 * (`protocol` http, ws, libsql) one at a time, since a second would wait on the first's lock.
 */
export function nodeGroupCommit(client: { protocol: string }): GroupCommit {
  return {
    schedule: afterIoPhase,
    maxInFlight: client.protocol === "file" ? 2 : 1,
  };
}
