import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openNodeDatabase } from "../db/libsql-node.ts";
import { identities, upstreamNonces, users } from "../db/schema.ts";
import type { Database } from "../db/types.ts";
import { AccountExists, LastIdentity, UpstreamSignInFailed } from "../errors.ts";
import { claimUpstreamNonce, pruneUpstreamNonces } from "../providers/native-nonce.ts";
import type { UpstreamProvider } from "../providers/provider.ts";
import type { UpstreamProfile } from "../providers/upstream-profile.ts";
import { deleteAccount } from "../users/delete-account.ts";
import { insertUser, markEmailVerified, NO_PASSWORD } from "../users/users.ts";
import { listIdentities, unlinkIdentity } from "./identities.ts";
import { signInWithUpstream } from "./sign-in-with-upstream.ts";

const MIGRATIONS = fileURLToPath(new URL("../../migrations", import.meta.url));
const NOW = Date.UTC(2026, 0, 1);

const provider = (name: string): UpstreamProvider => ({
  name,
  kind: "oidc",
  displayName: name,
  issuer: `https://${name}.example.com`,
  clientIds: ["client"],
  scopes: ["openid", "email"],
  apiUrl: null,
  tenant: null,
  teamId: null,
  keyId: null,
  browserLeg: true,
  createdAt: NOW,
});

const google = provider("google");
const github = provider("github");

const profile = (over: Partial<UpstreamProfile> = {}): UpstreamProfile => ({
  subject: "sub-1",
  email: "ada@example.com",
  emailVerified: true,
  name: "Ada Lovelace",
  ...over,
});

describe("upstream identities and linking (src/identities)", () => {
  let dir: string;
  let db: Database;
  let close: () => void;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tessera-identities-"));
    const opened = await openNodeDatabase({
      url: `file:${join(dir, "tessera.db")}`,
      migrationsFolder: MIGRATIONS,
    });
    db = opened.db;
    close = () => opened.client.close();
  });

  afterEach(async () => {
    close();
    await rm(dir, { recursive: true, force: true });
  });

  const userCount = async () => (await db.select().from(users)).length;

  it("a first sign-in creates an account without a password, then finds it by (provider, subject)", async () => {
    const first = await signInWithUpstream(db, { provider: google, profile: profile(), now: NOW });
    expect(first).toMatchObject({ linked: true, created: true });
    expect(first.user).toMatchObject({
      email: "ada@example.com",
      passwordHash: NO_PASSWORD,
      emailVerifiedAt: NOW,
    });
    expect(first.identity).toMatchObject({
      userId: first.user.id,
      provider: "google",
      subject: "sub-1",
      email: "ada@example.com",
      emailVerified: true,
      name: "Ada Lovelace",
      createdAt: NOW,
      lastUsedAt: NOW,
    });

    // Apple sends the name once: a later sign-in without one keeps it; the address is refreshed.
    const later = await signInWithUpstream(db, {
      provider: google,
      profile: profile({ name: null, email: "ada@new.example.com" }),
      now: NOW + 1000,
    });
    expect(later).toMatchObject({ linked: false, created: false });
    expect(later.user.id).toBe(first.user.id);
    expect(later.identity).toMatchObject({
      id: first.identity.id,
      name: "Ada Lovelace",
      email: "ada@new.example.com",
      lastUsedAt: NOW + 1000,
    });
    // A known identity needs no email at all.
    const noEmail = await signInWithUpstream(db, {
      provider: google,
      profile: profile({ email: null, emailVerified: false }),
      now: NOW + 2000,
    });
    expect(noEmail.user.id).toBe(first.user.id);
    expect(noEmail.identity.email).toBe("ada@new.example.com");
    expect(await userCount()).toBe(1);
  });

  it("an unverified upstream address makes an unverified account; the provider verifying it later proves it", async () => {
    const first = await signInWithUpstream(db, {
      provider: google,
      profile: profile({ emailVerified: false }),
      now: NOW,
    });
    expect(first.user.emailVerifiedAt).toBeNull();
    const later = await signInWithUpstream(db, {
      provider: google,
      profile: profile(),
      now: NOW + 5,
    });
    expect(later.user.emailVerifiedAt).toBe(NOW + 5);
  });

  it("links to an existing account only when both sides verified the address", async () => {
    const verified = await insertUser(db, {
      email: "ada@example.com",
      passwordHash: "$scrypt$x",
      now: NOW,
      emailVerified: true,
    });
    const linked = await signInWithUpstream(db, { provider: google, profile: profile(), now: NOW });
    expect(linked).toMatchObject({ linked: true, created: false });
    expect(linked.user.id).toBe(verified?.id);

    // The upstream did not verify it: no link.
    await expect(
      signInWithUpstream(db, {
        provider: github,
        profile: profile({ subject: "gh-1", emailVerified: false }),
        now: NOW,
      }),
    ).rejects.toBeInstanceOf(AccountExists);

    // Tessera did not verify it (someone signed up with a password): no link either.
    await insertUser(db, { email: "bob@example.com", passwordHash: "$scrypt$y", now: NOW });
    await expect(
      signInWithUpstream(db, {
        provider: google,
        profile: profile({ subject: "sub-bob", email: "bob@example.com" }),
        now: NOW,
      }),
    ).rejects.toBeInstanceOf(AccountExists);
    expect(await userCount()).toBe(2);
    expect((await db.select().from(identities)).map((i) => i.subject)).toEqual(["sub-1"]);
  });

  it("refuses a new identity without an email address", async () => {
    const error = await signInWithUpstream(db, {
      provider: github,
      profile: profile({ email: null, emailVerified: false }),
      now: NOW,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamSignInFailed);
    expect(error).toMatchObject({
      reason: "no_email",
      message: "The provider did not share an email address",
    });
    expect(await userCount()).toBe(0);
  });

  it("with requireVerifiedEmail, creates no account for an unverified address", async () => {
    await expect(
      signInWithUpstream(db, {
        provider: github,
        profile: profile({ emailVerified: false }),
        now: NOW,
        requireVerifiedEmail: true,
      }),
    ).rejects.toMatchObject({ reason: "email_not_verified" });
    expect(await userCount()).toBe(0);
    const ok = await signInWithUpstream(db, {
      provider: github,
      profile: profile(),
      now: NOW,
      requireVerifiedEmail: true,
    });
    expect(ok.created).toBe(true);
  });

  it("two first sign-ins at once make one account (the loser reads again)", async () => {
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        signInWithUpstream(db, { provider: google, profile: profile(), now: NOW }),
      ),
    );
    expect(new Set(results.map((r) => r.user.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await userCount()).toBe(1);
    expect(await db.select().from(identities)).toHaveLength(1);

    // One verified address arriving from two providers at once: one account, two identities.
    const both = await Promise.all([
      signInWithUpstream(db, {
        provider: google,
        profile: profile({ subject: "g-2", email: "eve@example.com" }),
        now: NOW,
      }),
      signInWithUpstream(db, {
        provider: github,
        profile: profile({ subject: "h-2", email: "eve@example.com" }),
        now: NOW,
      }),
    ]);
    expect(both[0].user.id).toBe(both[1].user.id);
    expect(both.filter((r) => r.created)).toHaveLength(1);
    expect(both.every((r) => r.linked)).toBe(true);
  });

  it("unlinks an identity, but never the account's last way in", async () => {
    const { user, identity: g } = await signInWithUpstream(db, {
      provider: google,
      profile: profile(),
      now: NOW,
    });
    const { identity: h } = await signInWithUpstream(db, {
      provider: github,
      profile: profile({ subject: "gh-1" }),
      now: NOW + 1,
    });
    expect((await listIdentities(db, user.id)).map((i) => i.id)).toEqual([g.id, h.id]);

    const other = await insertUser(db, {
      email: "other@example.com",
      passwordHash: "$scrypt$z",
      now: NOW,
    });
    expect(await unlinkIdentity(db, { userId: other?.id as string, id: g.id })).toBeUndefined();
    expect(await unlinkIdentity(db, { userId: user.id, id: "nope" })).toBeUndefined();

    // Two unlinks racing for the last two identities: exactly one wins.
    const raced = await Promise.allSettled([
      unlinkIdentity(db, { userId: user.id, id: g.id }),
      unlinkIdentity(db, { userId: user.id, id: h.id }),
    ]);
    expect(raced.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = raced.find((r) => r.status === "rejected");
    expect(refused?.reason).toBeInstanceOf(LastIdentity);
    const [left] = await listIdentities(db, user.id);
    expect(left).toBeDefined();

    // With a password the last identity may go.
    await db.update(users).set({ passwordHash: "$scrypt$w" }).where(eq(users.id, user.id));
    expect((await unlinkIdentity(db, { userId: user.id, id: left?.id as string }))?.id).toBe(
      left?.id,
    );
    expect(await listIdentities(db, user.id)).toEqual([]);
  });

  it("deleting the account deletes its identities; the same upstream account can sign up afresh", async () => {
    const { user } = await signInWithUpstream(db, {
      provider: google,
      profile: profile(),
      now: NOW,
    });
    await markEmailVerified(db, { userId: user.id, email: user.email, now: NOW });
    expect(
      await deleteAccount(db, {
        userId: user.id,
        email: user.email,
        now: NOW,
        ip: null,
        userAgent: null,
      }),
    ).toBe(true);
    expect(await db.select().from(identities)).toEqual([]);
    const again = await signInWithUpstream(db, { provider: google, profile: profile(), now: NOW });
    expect(again.created).toBe(true);
    expect(again.user.id).not.toBe(user.id);
  });

  it("an exchanged token's nonce is accepted once per provider until it expires", async () => {
    const claim = (providerName: string, nonce: string, now = NOW) =>
      claimUpstreamNonce(db, { provider: providerName, nonce, expiresAt: NOW + 60_000, now });
    expect(await claim("google", "n-1")).toBe(true);
    expect(await claim("google", "n-1")).toBe(false);
    expect(await claim("apple", "n-1")).toBe(true);
    const racing = await Promise.all([claim("google", "n-2"), claim("google", "n-2")]);
    expect(racing.sort()).toEqual([false, true]);
    // Once the first token expired, the row is taken over (or pruned).
    expect(await claim("google", "n-1", NOW + 60_000)).toBe(true);
    expect(await pruneUpstreamNonces(db, NOW + 120_001)).toBe(3);
    expect(await db.select().from(upstreamNonces)).toEqual([]);
  });
});
