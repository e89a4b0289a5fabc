import { eq } from "drizzle-orm";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { signingKeys } from "../../src/db/schema.ts";
import { rotateSigningKeys } from "../../src/keys/rotate-signing-keys.ts";
import { deriveKeys } from "../../src/secrets/derive-keys.ts";
import { openHarness } from "../harness/open.ts";
import type { Harness, HarnessFactory } from "../harness/types.ts";
import { login, signup, verifyWithJwks } from "./helpers.ts";

type Jwk = { kid: string; alg: string; use: string; d?: string };

const jwks = async (h: Harness) =>
  ((await (await h.request("/.well-known/jwks.json")).json()) as { keys: Jwk[] }).keys;
const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;
const MINUTE = 60_000;
const DAY = 86_400_000;

/** Signing-key lifecycle: next → current → previous → retired. */
export function keyCases(createHarness: HarnessFactory) {
  describe("signing keys", () => {
    it("rotation promotes next to current; old tokens still verify, new ones carry the new kid", async () => {
      const h = await openHarness(createHarness);
      const before = await jwks(h);
      const { email, tokens } = await signup(h);
      const oldKid = kidOf(tokens.access_token);
      const rotation = await h.rotateKeys();
      expect(rotation.previous).toBe(oldKid);
      // The new current was already published as next: cached verifiers hold it.
      expect(before.map((k) => k.kid)).toContain(rotation.current);
      const after = await jwks(h);
      expect(after.map((k) => k.kid).sort()).toEqual(
        [rotation.current, rotation.previous, rotation.next].sort(),
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
      expect((await h.maintainKeys()).rotated).toBeUndefined();
      h.clock.advance(DAY + MINUTE);
      // Rotation is due, but pretend `next` was published only now: verifiers' cached JWKS
      // (max-age 300 s) may not hold it yet, so maintenance must wait.
      await h.db
        .update(signingKeys)
        .set({ createdAt: h.clock.now() })
        .where(eq(signingKeys.status, "next"));
      expect((await h.maintainKeys()).rotated).toBeUndefined();
      h.clock.advance(301_000);
      const done = await h.maintainKeys();
      expect(first.map((k) => k.kid)).toContain(done.rotated?.current);
      expect(await jwks(h)).toHaveLength(3);
    });

    it("retires a previous key once every token it signed has expired", async () => {
      const h = await openHarness(createHarness, { KEY_ROTATION_INTERVAL: "0" });
      const { tokens } = await signup(h);
      const oldKid = kidOf(tokens.access_token);
      await h.rotateKeys();
      expect((await h.maintainKeys()).retired).toEqual([]);
      expect((await jwks(h)).map((k) => k.kid)).toContain(oldKid);
      // 900 s access-token lifetime + verifier skew later, it leaves the JWKS.
      h.clock.advance(900_000 + 2 * MINUTE);
      expect((await h.maintainKeys()).retired).toEqual([oldKid]);
      expect((await jwks(h)).map((k) => k.kid)).not.toContain(oldKid);
    });

    it("KEY_ROTATION_INTERVAL=0 never rotates on schedule", async () => {
      const h = await openHarness(createHarness, { KEY_ROTATION_INTERVAL: "0" });
      h.clock.advance(400 * DAY);
      expect((await h.maintainKeys()).rotated).toBeUndefined();
    });
  });
}
