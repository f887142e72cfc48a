import { randomUUID } from "node:crypto";
import { UniqueConstraintViolationException } from "@mikro-orm/core";
import type { Confirmation, MfaFactorRepository, SealedSecret, TotpFactor } from "../domain/mfa-ports.js";
import { MfaChallengeEntity, RecoveryCodeEntity, TotpFactorEntity } from "./entities.js";
import type { Orm } from "./orm.js";

const toFactor = (f: TotpFactorEntity): TotpFactor => ({
  userId: f.user.id,
  secret: { ciphertext: f.secretCiphertext, keyId: f.keyId },
  confirmedAt: f.confirmedAt ?? null,
  lastUsedStep: f.lastUsedStep ?? null,
  createdAt: f.createdAt,
});

/**
 * TOTP factors and recovery codes over MikroORM. Every rule that must hold
 * across replicas (one acceptance per time step, one use per recovery code,
 * confirming only the enrolment the code was checked against) is a single
 * conditional UPDATE whose row count is the verdict.
 */
export function createMfaFactorRepository(orm: Orm): MfaFactorRepository {
  const em = () => orm.em.fork();

  const newCodeRows = (userId: string, hashes: readonly string[], at: Date) =>
    hashes.map((codeHash) => ({ id: randomUUID(), user: userId, codeHash, usedAt: null, createdAt: at }));

  async function insertEnrolment(userId: string, secret: SealedSecret, at: Date): Promise<boolean> {
    const fork = em();
    // A pending enrolment is replaced; a confirmed one is never touched.
    await fork.nativeDelete(TotpFactorEntity, { user: userId, confirmedAt: null });
    try {
      await fork.insert(TotpFactorEntity, {
        user: userId,
        secretCiphertext: secret.ciphertext,
        keyId: secret.keyId,
        confirmedAt: null,
        lastUsedStep: null,
        createdAt: at,
      });
      return true;
    } catch (e) {
      if (e instanceof UniqueConstraintViolationException) return false;
      throw e;
    }
  }

  return {
    async findFactor(userId) {
      const found = await em().findOne(TotpFactorEntity, { user: userId });
      return found ? toFactor(found) : null;
    },

    async enabledAmong(userIds) {
      if (userIds.length === 0) return new Set<string>();
      const rows = await em().find(
        TotpFactorEntity,
        { user: { $in: [...userIds] }, confirmedAt: { $ne: null } },
        { fields: ["user"] },
      );
      return new Set(rows.map((r) => r.user.id));
    },

    async saveEnrolment(userId, secret, at) {
      if (await insertEnrolment(userId, secret, at)) return true;
      // Either a confirmed factor exists, or a concurrent setup inserted
      // between our delete and insert: that one is replaced in turn.
      const existing = await em().findOne(TotpFactorEntity, { user: userId });
      if (existing?.confirmedAt) return false;
      return insertEnrolment(userId, secret, at);
    },

    confirm: (c: Confirmation) =>
      em().transactional(async (tx) => {
        const updated = await tx.nativeUpdate(
          TotpFactorEntity,
          { user: c.userId, confirmedAt: null, secretCiphertext: c.ciphertext },
          { confirmedAt: c.at, lastUsedStep: c.step },
        );
        if (updated !== 1) return false;
        await tx.nativeDelete(RecoveryCodeEntity, { user: c.userId });
        await tx.insertMany(RecoveryCodeEntity, newCodeRows(c.userId, c.recoveryCodeHashes, c.at));
        return true;
      }),

    async useStep(userId, step) {
      const updated = await em().nativeUpdate(
        TotpFactorEntity,
        {
          user: userId,
          confirmedAt: { $ne: null },
          $or: [{ lastUsedStep: null }, { lastUsedStep: { $lt: step } }],
        },
        { lastUsedStep: step },
      );
      return updated === 1;
    },

    replaceRecoveryCodes: (userId, hashes, at) =>
      em().transactional(async (tx) => {
        const factor = await tx.findOne(TotpFactorEntity, { user: userId, confirmedAt: { $ne: null } });
        if (!factor) return false;
        await tx.nativeDelete(RecoveryCodeEntity, { user: userId });
        await tx.insertMany(RecoveryCodeEntity, newCodeRows(userId, hashes, at));
        return true;
      }),

    async useRecoveryCode(userId, hashes, at) {
      if (hashes.length === 0) return false;
      const updated = await em().nativeUpdate(
        RecoveryCodeEntity,
        { user: userId, codeHash: { $in: [...hashes] }, usedAt: null },
        { usedAt: at },
      );
      return updated > 0;
    },

    countUnusedRecoveryCodes: (userId) => em().count(RecoveryCodeEntity, { user: userId, usedAt: null }),

    removeAll: (userId) =>
      em().transactional(async (tx) => {
        const factor = await tx.findOne(TotpFactorEntity, { user: userId });
        await tx.nativeDelete(MfaChallengeEntity, { user: userId });
        await tx.nativeDelete(RecoveryCodeEntity, { user: userId });
        await tx.nativeDelete(TotpFactorEntity, { user: userId });
        return factor?.confirmedAt != null;
      }),
  };
}
