import { raw } from "@mikro-orm/core";
import type { MfaChallenge, MfaChallengeRepository } from "../domain/mfa-ports.js";
import { decodeAmr, encodeAmr } from "./amr-column.js";
import { MfaChallengeEntity } from "./entities.js";
import type { Orm } from "./orm.js";

const toChallenge = (c: MfaChallengeEntity): MfaChallenge => ({
  tokenHash: c.tokenHash,
  userId: c.user.id,
  accountKey: c.accountKey,
  amr: decodeAmr(c.amr),
  expiresAt: c.expiresAt,
  failedAttempts: c.failedAttempts,
  createdAt: c.createdAt,
});

/**
 * Login challenges in the database, so that any replica can answer
 * VerifyMfa. The attempt counter and single use are conditional writes.
 */
export function createMfaChallengeRepository(orm: Orm): MfaChallengeRepository {
  const em = () => orm.em.fork();
  return {
    async create(c) {
      await em().insert(MfaChallengeEntity, {
        tokenHash: c.tokenHash,
        user: c.userId,
        accountKey: c.accountKey,
        amr: encodeAmr(c.amr),
        expiresAt: c.expiresAt,
        failedAttempts: 0,
        createdAt: c.createdAt,
      });
    },

    async find(tokenHash) {
      const found = await em().findOne(MfaChallengeEntity, { tokenHash });
      return found ? toChallenge(found) : null;
    },

    async claimAttempt(tokenHash, max, now) {
      const updated = await em().nativeUpdate(
        MfaChallengeEntity,
        { tokenHash, failedAttempts: { $lt: max }, expiresAt: { $gt: now } },
        { failedAttempts: raw<number>("failed_attempts + 1") },
      );
      return updated === 1;
    },

    async consume(tokenHash) {
      return (await em().nativeDelete(MfaChallengeEntity, { tokenHash })) === 1;
    },

    async purgeExpired(before) {
      await em().nativeDelete(MfaChallengeEntity, { expiresAt: { $lt: before } });
    },
  };
}
