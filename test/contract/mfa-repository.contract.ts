import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { createMfaFactorRepository } from "../../src/db/mfa-factor-repository.js";
import { later, newUser, type RepositoryFixture, tokenHash } from "./support.js";

/**
 * The second factor's storage as the user reads see it: `mfa_enabled` comes
 * with every read of a user (no query of its own), and only a confirmed
 * factor counts.
 */
export function mfaRepositoryContract(fixture: () => RepositoryFixture): void {
  const sealed = () => ({ ciphertext: `v1.${randomUUID()}`, keyId: "k1" });

  it("when a factor is pending, confirmed, then removed, then every user read follows mfa_enabled", async () => {
    const { users, sessions, sql } = fixture();
    const factors = createMfaFactorRepository(sql);
    const user = await users.create(newUser("mfa"));
    expect(user.mfaEnabled).toBe(false);
    const hash = tokenHash();
    const session = await sessions.create({
      userId: user.id,
      expiresAt: later(3_600_000),
      refreshTokenHash: hash,
      refreshExpiresAt: later(600_000),
      clientAddress: "",
      userAgent: "",
    });
    const reads = async () => [
      (await users.findByLogin(user.email))?.user.mfaEnabled,
      (await users.findById(user.id))?.mfaEnabled,
      (await users.recordLogin(user.id, later(0))).mfaEnabled,
      (await sessions.findSessionWithUser(session.id))?.user.mfaEnabled,
      (await sessions.findRefreshToken(hash))?.user.mfaEnabled,
    ];

    const secret = sealed();
    expect(await factors.saveEnrolment(user.id, secret, later(0))).toBe(true);
    expect(await reads()).toEqual([false, false, false, false, false]);

    const confirmed = await factors.confirm({
      userId: user.id,
      ciphertext: secret.ciphertext,
      step: 1,
      recoveryCodeHashes: Array.from({ length: 10 }, tokenHash),
      at: later(0),
    });
    expect(confirmed).toBe(true);
    expect(await reads()).toEqual([true, true, true, true, true]);
    // Another user is not affected by the EXISTS.
    const other = await users.create(newUser("mfa"));
    expect((await users.findById(other.id))?.mfaEnabled).toBe(false);

    expect(await factors.removeAll(user.id)).toBe(true);
    expect(await reads()).toEqual([false, false, false, false, false]);
  });

  it("when a step is used, then only a later step is accepted afterwards, and a recovery code only once", async () => {
    const { users, sql } = fixture();
    const factors = createMfaFactorRepository(sql);
    const user = await users.create(newUser("mfa"));
    const secret = sealed();
    await factors.saveEnrolment(user.id, secret, later(0));
    const codes = Array.from({ length: 10 }, tokenHash);
    await factors.confirm({
      userId: user.id,
      ciphertext: secret.ciphertext,
      step: 100,
      recoveryCodeHashes: codes,
      at: later(0),
    });
    expect(await factors.useStep(user.id, 100)).toBe(false);
    expect(await factors.useStep(user.id, 99)).toBe(false);
    expect(await factors.useStep(user.id, 101)).toBe(true);
    expect((await factors.findFactor(user.id))?.lastUsedStep).toBe(101);
    expect(await factors.countUnusedRecoveryCodes(user.id)).toBe(10);
    expect(await factors.useRecoveryCode(user.id, [codes[0] ?? ""], later(0))).toBe(true);
    expect(await factors.useRecoveryCode(user.id, [codes[0] ?? ""], later(0))).toBe(false);
    expect(await factors.countUnusedRecoveryCodes(user.id)).toBe(9);
    expect(await factors.enabledAmong([user.id, randomUUID()])).toEqual(new Set([user.id]));
  });
}
