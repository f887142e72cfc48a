import { randomUUID } from "node:crypto";
import type { Confirmation, MfaFactorRepository, SealedSecret, TotpFactor } from "../domain/mfa-ports.js";
import { isUniqueViolation } from "./infra-errors.js";
import type { Row, Sql } from "./sql.js";

/**
 * The second factor's aggregate: a user's TOTP factor (`mfa_totp_factors`)
 * and recovery codes (`mfa_recovery_codes`). Every rule that must hold
 * across replicas (one acceptance per time step, one use per recovery code,
 * confirming only the enrolment the code was checked against) is a single
 * conditional UPDATE whose row count is the verdict.
 */

const FACTOR_FIELDS = [
  "user_id",
  "secret_ciphertext",
  "key_id",
  "confirmed_at",
  "last_used_step",
  "created_at",
] as const;
type FactorRow = Row<"mfa_totp_factors", (typeof FACTOR_FIELDS)[number]>;

const toFactor = (sql: Sql, r: FactorRow): TotpFactor => ({
  userId: r.user_id,
  secret: { ciphertext: r.secret_ciphertext, keyId: r.key_id },
  confirmedAt: sql.dateOrNull(r.confirmed_at),
  lastUsedStep: r.last_used_step === null ? null : Number(r.last_used_step),
  createdAt: sql.date(r.created_at),
});

export function createMfaFactorRepository(sql: Sql): MfaFactorRepository {
  const codeRows = (userId: string, hashes: readonly string[], at: Date) =>
    hashes.map((codeHash) => ({
      id: randomUUID(),
      user_id: userId,
      code_hash: codeHash,
      used_at: null,
      created_at: sql.toDb(at),
    }));

  /** Replaces a pending enrolment with a new one; false when the insert lost to another row (a confirmed factor, or a racing setup). */
  async function insertEnrolment(userId: string, secret: SealedSecret, at: Date): Promise<boolean> {
    // Two statements, no transaction: on PostgreSQL a refused insert would
    // abort a surrounding transaction, and the delete alone is harmless.
    await sql
      .db()
      .deleteFrom("mfa_totp_factors")
      .where("user_id", "=", userId)
      .where("confirmed_at", "is", null)
      .execute();
    try {
      await sql
        .db()
        .insertInto("mfa_totp_factors")
        .values({
          user_id: userId,
          secret_ciphertext: secret.ciphertext,
          key_id: secret.keyId,
          confirmed_at: null,
          last_used_step: null,
          created_at: sql.toDb(at),
        })
        .execute();
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  async function findFactor(userId: string): Promise<TotpFactor | null> {
    const row = await sql
      .db()
      .selectFrom("mfa_totp_factors")
      .select(FACTOR_FIELDS)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return row ? toFactor(sql, row) : null;
  }

  return {
    findFactor,

    async enabledAmong(userIds) {
      if (userIds.length === 0) return new Set<string>();
      const rows = await sql
        .db()
        .selectFrom("mfa_totp_factors")
        .select("user_id")
        .where("user_id", "in", [...userIds])
        .where("confirmed_at", "is not", null)
        .execute();
      return new Set(rows.map((r) => r.user_id));
    },

    async saveEnrolment(userId, secret, at) {
      if (await insertEnrolment(userId, secret, at)) return true;
      // Either a confirmed factor exists, or a concurrent setup inserted
      // between our delete and insert: that one is replaced in turn.
      if ((await findFactor(userId))?.confirmedAt) return false;
      return insertEnrolment(userId, secret, at);
    },

    confirm: (c: Confirmation) =>
      sql
        .db()
        .transaction()
        .execute(async (trx) => {
          const updated = await trx
            .updateTable("mfa_totp_factors")
            .set({ confirmed_at: sql.toDb(c.at), last_used_step: c.step })
            .where("user_id", "=", c.userId)
            .where("confirmed_at", "is", null)
            .where("secret_ciphertext", "=", c.ciphertext)
            .executeTakeFirst();
          if (updated.numUpdatedRows !== 1n) return false;
          await trx.deleteFrom("mfa_recovery_codes").where("user_id", "=", c.userId).execute();
          await trx
            .insertInto("mfa_recovery_codes")
            .values(codeRows(c.userId, c.recoveryCodeHashes, c.at))
            .execute();
          return true;
        }),

    async useStep(userId, step) {
      const updated = await sql
        .db()
        .updateTable("mfa_totp_factors")
        .set({ last_used_step: step })
        .where("user_id", "=", userId)
        .where("confirmed_at", "is not", null)
        .where((eb) => eb.or([eb("last_used_step", "is", null), eb("last_used_step", "<", step)]))
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },

    replaceRecoveryCodes: (userId, hashes, at) =>
      sql
        .db()
        .transaction()
        .execute(async (trx) => {
          const factor = await trx
            .selectFrom("mfa_totp_factors")
            .select("user_id")
            .where("user_id", "=", userId)
            .where("confirmed_at", "is not", null)
            .executeTakeFirst();
          if (!factor) return false;
          await trx.deleteFrom("mfa_recovery_codes").where("user_id", "=", userId).execute();
          await trx
            .insertInto("mfa_recovery_codes")
            .values(codeRows(userId, hashes, at))
            .execute();
          return true;
        }),

    async useRecoveryCode(userId, hashes, at) {
      if (hashes.length === 0) return false;
      const updated = await sql
        .db()
        .updateTable("mfa_recovery_codes")
        .set({ used_at: sql.toDb(at) })
        .where("user_id", "=", userId)
        .where("code_hash", "in", [...hashes])
        .where("used_at", "is", null)
        .executeTakeFirst();
      return updated.numUpdatedRows > 0n;
    },

    async countUnusedRecoveryCodes(userId) {
      const row = await sql
        .db()
        .selectFrom("mfa_recovery_codes")
        .select((eb) => eb.fn.countAll().as("unused"))
        .where("user_id", "=", userId)
        .where("used_at", "is", null)
        .executeTakeFirstOrThrow();
      return Number(row.unused);
    },

    removeAll: (userId) =>
      sql
        .db()
        .transaction()
        .execute(async (trx) => {
          const factor = await trx
            .selectFrom("mfa_totp_factors")
            .select("confirmed_at")
            .where("user_id", "=", userId)
            .executeTakeFirst();
          await trx.deleteFrom("mfa_challenges").where("user_id", "=", userId).execute();
          await trx.deleteFrom("mfa_recovery_codes").where("user_id", "=", userId).execute();
          await trx.deleteFrom("mfa_totp_factors").where("user_id", "=", userId).execute();
          return factor !== undefined && factor.confirmed_at !== null;
        }),
  };
}
