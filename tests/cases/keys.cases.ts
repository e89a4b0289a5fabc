import { and, eq, sql } from "drizzle-orm";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { signingKeys } from "../../src/db/schema.ts";
import { ensureSigningKeys } from "../../src/keys/ensure-signing-keys.ts";
import { RotationConflictError, rotateSigningKeys } from "../../src/keys/rotate-signing-keys.ts";
import { deriveKeys } from "../../src/secrets/derive-keys.ts";
import { openHarness } from "../harness/open.ts";
import type { Harness, HarnessFactory } from "../harness/types.ts";
import { login, signup, verifyWithJwks } from "./helpers.ts";

type Jwk = { kid: string; alg: string; use: string; kty: string; d?: string; p?: string };

const jwks = async (h: Harness) =>
  ((await (await h.request("/.well-known/jwks.json")).json()) as { keys: Jwk[] }).keys;
/** `alg:status` → how many keys, straight from the table. */
const countsByAlgAndStatus = async (h: Harness) => {
  const rows = await h.db
    .select({ alg: signingKeys.alg, status: signingKeys.status, n: sql<number>`count(*)` })
    .from(signingKeys)
    .groupBy(signingKeys.alg, signingKeys.status);
  return Object.fromEntries(rows.map((r) => [`${r.alg}:${r.status}`, Number(r.n)]));
};
const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;
const MINUTE = 60_000;
const DAY = 86_400_000;

/** Signing-key lifecycle: next → current → previous → retired. */
export function keyCases(createHarness: HarnessFactory) {
  describe("signing keys", () => {
    it("keeps SIGNING_ALG and RS256 keys from the first start: both published, each signs for its alg", async () => {
      const h = await openHarness(createHarness);
      expect(await countsByAlgAndStatus(h)).toEqual({
        "EdDSA:current": 1,
        "EdDSA:next": 1,
        "RS256:current": 1,
        "RS256:next": 1,
      });
      const keys = await jwks(h);
      // Current keys first, SIGNING_ALG's before the others; public members only.
      expect(keys.map((k) => k.alg)).toEqual(["EdDSA", "RS256", "EdDSA", "RS256"]);
      for (const key of keys) {
        expect(key.use).toBe("sig");
        expect(key.d).toBeUndefined();
        expect(key.p).toBeUndefined();
      }
      // Access tokens still sign with SIGNING_ALG, and the metadata says only that.
      const { tokens } = await signup(h);
      expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({
        alg: "EdDSA",
        kid: keys[0]?.kid,
      });
      const meta = (await (await h.request("/.well-known/openid-configuration")).json()) as {
        access_token_signing_alg_values_supported: string[];
      };
      expect(meta.access_token_signing_alg_values_supported).toEqual(["EdDSA"]);
      // The RS256 current key signs when asked (ID tokens), and verifies against the JWKS.
      const rs = await h.signingKey("RS256");
      expect(rs.alg).toBe("RS256");
      expect(keys.find((k) => k.kid === rs.kid)?.kty).toBe("RSA");
      const idToken = await new SignJWT({ sub: "u1" })
        .setProtectedHeader({ alg: "RS256", kid: rs.kid })
        .setIssuer(h.config.issuer)
        .sign(rs.privateKey);
      const jwkSet = createLocalJWKSet({ keys } as unknown as Parameters<
        typeof createLocalJWKSet
      >[0]);
      const { protectedHeader } = await jwtVerify(idToken, jwkSet, { algorithms: ["RS256"] });
      expect(protectedHeader.kid).toBe(rs.kid);
      expect((await h.signingKey()).kid).toBe(keys[0]?.kid);
    });

    it("SIGNING_ALG=RS256 keeps one set of keys, which signs both", async () => {
      const h = await openHarness(createHarness, { SIGNING_ALG: "RS256" });
      expect(await countsByAlgAndStatus(h)).toEqual({ "RS256:current": 1, "RS256:next": 1 });
      expect((await h.signingKey()).kid).toBe((await h.signingKey("RS256")).kid);
    });

    it("racing key checks and rotations leave one current and one next key per alg", async () => {
      const h = await openHarness(createHarness);
      const { keyEncryptionKey } = await deriveKeys(h.config.secret as string);
      await h.db.delete(signingKeys);
      const now = h.clock.now();
      // Three "processes" starting on an empty table at once, each ensuring both algs.
      await Promise.all(
        [0, 1, 2].flatMap(() =>
          (["EdDSA", "RS256"] as const).map((alg) =>
            ensureSigningKeys(h.db, { alg, keyEncryptionKey, now }),
          ),
        ),
      );
      const once = {
        "EdDSA:current": 1,
        "EdDSA:next": 1,
        "RS256:current": 1,
        "RS256:next": 1,
      };
      expect(await countsByAlgAndStatus(h)).toEqual(once);
      // Two rotations of RS256 at once: one wins, the other changes nothing.
      const results = await Promise.allSettled(
        [0, 1].map(() => rotateSigningKeys(h.db, { alg: "RS256", keyEncryptionKey, now })),
      );
      const failed = results.filter((r) => r.status === "rejected");
      expect(failed.length).toBeLessThanOrEqual(1);
      for (const f of failed) expect(f.reason).toBeInstanceOf(RotationConflictError);
      expect(await countsByAlgAndStatus(h)).toMatchObject(once);
    });

    it("rotation promotes next to current; old tokens still verify, new ones carry the new kid", async () => {
      const h = await openHarness(createHarness);
      const before = await jwks(h);
      const { email, tokens } = await signup(h);
      const oldKid = kidOf(tokens.access_token);
      const oldRs = (await h.signingKey("RS256")).kid;
      const rotation = await h.rotateKeys();
      expect(rotation.previous).toBe(oldKid);
      // Every alg rotates, each from its own next.
      expect(Object.keys(rotation.byAlg).sort()).toEqual(["EdDSA", "RS256"]);
      const rs = rotation.byAlg.RS256;
      expect(rs?.previous).toBe(oldRs);
      expect(before.map((k) => k.kid)).toContain(rs?.current);
      expect((await h.signingKey("RS256")).kid).toBe(rs?.current);
      expect(await countsByAlgAndStatus(h)).toEqual({
        "EdDSA:current": 1,
        "EdDSA:next": 1,
        "EdDSA:previous": 1,
        "RS256:current": 1,
        "RS256:next": 1,
        "RS256:previous": 1,
      });
      // The new current was already published as next: cached verifiers hold it.
      expect(before.map((k) => k.kid)).toContain(rotation.current);
      const after = await jwks(h);
      expect(after.map((k) => k.kid).sort()).toEqual(
        Object.values(rotation.byAlg)
          .flatMap((r) => [r.current, r.previous, r.next])
          .sort(),
      );
      for (const key of after) expect(key.d).toBeUndefined();
      const fresh = await login(h, email);
      expect(kidOf(fresh.access_token)).toBe(rotation.current);
      await verifyWithJwks(h, tokens.access_token);
      await verifyWithJwks(h, fresh.access_token);
    });

    it("a rotation by another process reaches this instance within its key-cache time", async () => {
      const h = await openHarness(createHarness);
      const { email } = await signup(h);
      // Rotate through the database only, as the CLI does from another process.
      const { keyEncryptionKey } = await deriveKeys(h.config.secret as string);
      const rotation = await rotateSigningKeys(h.db, {
        alg: h.config.signingAlg,
        keyEncryptionKey,
        now: h.clock.now(),
      });
      h.clock.advance(31_000);
      expect(kidOf((await login(h, email)).access_token)).toBe(rotation.current);
    });

    it("scheduled maintenance rotates when due, only after next was published for the JWKS max-age", async () => {
      const h = await openHarness(createHarness, { KEY_ROTATION_INTERVAL: "1d" });
      const first = await jwks(h);
      expect((await h.maintainKeys()).rotated).toEqual([]);
      h.clock.advance(DAY + MINUTE);
      // Rotation is due, but pretend `next` was published only now: verifiers' cached JWKS
      // (max-age 300 s) may not hold it yet, so maintenance must wait.
      await h.db
        .update(signingKeys)
        .set({ createdAt: h.clock.now() })
        .where(eq(signingKeys.status, "next"));
      expect((await h.maintainKeys()).rotated).toEqual([]);
      h.clock.advance(301_000);
      // Each alg only when due: RS256's next was published just now, so only EdDSA rotates.
      await h.db
        .update(signingKeys)
        .set({ createdAt: h.clock.now() })
        .where(and(eq(signingKeys.status, "next"), eq(signingKeys.alg, "RS256")));
      const done = await h.maintainKeys();
      expect(done.rotated.map((r) => r.alg)).toEqual(["EdDSA"]);
      expect(first.map((k) => k.kid)).toContain(done.rotated[0]?.current);
      expect(await jwks(h)).toHaveLength(5);
      h.clock.advance(301_000);
      const later = await h.maintainKeys();
      expect(later.rotated.map((r) => r.alg)).toEqual(["RS256"]);
      expect(first.map((k) => k.kid)).toContain(later.rotated[0]?.current);
      expect(await jwks(h)).toHaveLength(6);
    });

    it("retires a previous key once every token it signed has expired", async () => {
      const h = await openHarness(createHarness, { KEY_ROTATION_INTERVAL: "0" });
      const { tokens } = await signup(h);
      const oldKid = kidOf(tokens.access_token);
      const rotation = await h.rotateKeys();
      const oldRs = rotation.byAlg.RS256?.previous as string;
      expect((await h.maintainKeys()).retired).toEqual([]);
      expect((await jwks(h)).map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, oldRs]));
      // 900 s access-token lifetime + verifier skew later, they leave the JWKS.
      h.clock.advance(900_000 + 2 * MINUTE);
      expect((await h.maintainKeys()).retired.sort()).toEqual([oldKid, oldRs].sort());
      const left = (await jwks(h)).map((k) => k.kid);
      expect(left).not.toContain(oldKid);
      expect(left).not.toContain(oldRs);
    });

    it("KEY_ROTATION_INTERVAL=0 never rotates on schedule", async () => {
      const h = await openHarness(createHarness, { KEY_ROTATION_INTERVAL: "0" });
      h.clock.advance(400 * DAY);
      expect((await h.maintainKeys()).rotated).toEqual([]);
    });

    it("a client's ID-token alg ensured by another process signs at once and rotates with the rest", async () => {
      const h = await openHarness(createHarness, { KEY_ROTATION_INTERVAL: "1d" });
      await h.signingKey(); // a warm key cache without ES256
      const { keyEncryptionKey } = await deriveKeys(h.config.secret as string);
      // As `clients create --id-token-alg ES256` would, from the CLI process.
      await ensureSigningKeys(h.db, { alg: "ES256", keyEncryptionKey, now: h.clock.now() });
      const es = await h.signingKey("ES256");
      expect(es.alg).toBe("ES256");
      h.clock.advance(31_000);
      expect((await jwks(h)).filter((k) => k.alg === "ES256")).toHaveLength(2);
      h.clock.advance(DAY + MINUTE);
      const done = await h.maintainKeys();
      expect(done.rotated.map((r) => r.alg)).toEqual(["EdDSA", "RS256", "ES256"]);
      expect(done.rotated.find((r) => r.alg === "ES256")?.previous).toBe(es.kid);
      // An alg nobody configured or registered has no key to sign with.
      const bare = await openHarness(createHarness, { SIGNING_ALG: "RS256" });
      await expect(bare.signingKey("ES256")).rejects.toThrow(/No current ES256 signing key/);
    });
  });
}
