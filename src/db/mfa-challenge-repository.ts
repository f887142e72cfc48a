import type { MfaChallenge, MfaChallengeRepository } from "../domain/mfa-ports.js";
import { decodeAmr, encodeAmr } from "./amr-column.js";
import type { Row, Sql } from "./sql.js";

/**
 * Login challenges (`mfa_challenges`), in the database so that any replica
 * can answer VerifyMfa. The attempt counter and single use are conditional
 * writes whose row count is the verdict.
 */

const CHALLENGE_FIELDS = [
  "token_hash",
  "user_id",
  "account_key",
  "amr",
  "expires_at",
  "failed_attempts",
  "created_at",
] as const;
type ChallengeRow = Row<"mfa_challenges", (typeof CHALLENGE_FIELDS)[number]>;

const toChallenge = (sql: Sql, r: ChallengeRow): MfaChallenge => ({
  tokenHash: r.token_hash,
  userId: r.user_id,
  accountKey: r.account_key,
  amr: decodeAmr(r.amr),
  expiresAt: sql.date(r.expires_at),
  failedAttempts: Number(r.failed_attempts),
  createdAt: sql.date(r.created_at),
});

export function createMfaChallengeRepository(sql: Sql): MfaChallengeRepository {
  return {
    async create(c) {
      await sql
        .db()
        .insertInto("mfa_challenges")
        .values({
          token_hash: c.tokenHash,
          user_id: c.userId,
          account_key: c.accountKey,
          amr: encodeAmr(c.amr),
          expires_at: sql.toDb(c.expiresAt),
          failed_attempts: 0,
          created_at: sql.toDb(c.createdAt),
        })
        .execute();
    },

    async find(tokenHash) {
      const row = await sql
        .db()
        .selectFrom("mfa_challenges")
        .select(CHALLENGE_FIELDS)
        .where("token_hash", "=", tokenHash)
        .executeTakeFirst();
      return row ? toChallenge(sql, row) : null;
    },

    async claimAttempt(tokenHash, max, now) {
      const updated = await sql
        .db()
        .updateTable("mfa_challenges")
        .set((eb) => ({ failed_attempts: eb("failed_attempts", "+", 1) }))
        .where("token_hash", "=", tokenHash)
        .where("failed_attempts", "<", max)
        .where("expires_at", ">", sql.toDb(now))
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },

    async consume(tokenHash) {
      const deleted = await sql
        .db()
        .deleteFrom("mfa_challenges")
        .where("token_hash", "=", tokenHash)
        .executeTakeFirst();
      return deleted.numDeletedRows === 1n;
    },

    async purgeExpired(before) {
      await sql.db().deleteFrom("mfa_challenges").where("expires_at", "<", sql.toDb(before)).execute();
    },
  };
}
