import { randomUUID } from "node:crypto";
import type { Expression, ExpressionBuilder, SqlBool } from "kysely";
import type {
  AccountRepository,
  AccountSessionRecord,
  MailAllowance,
  NewOneTimeToken,
  OneTimePurpose,
  OutgoingMail,
} from "../domain/account-ports.js";
import { endedCount, openSessionsOf } from "./session-revocation.js";
import type { Sql, Tables } from "./sql.js";
import { toUser, USER_COLUMNS } from "./user-repository.js";

/** The caller's sessions as ListSessions shows them. */
const SESSION_LIST_COLUMNS = [
  "id",
  "created_at",
  "last_used_at",
  "expires_at",
  "client_address",
  "user_agent",
] as const;

/**
 * Storage of the account lifecycle: one-time tokens, the writes into the
 * mail outbox that go with them, password and verification state, the
 * user's sessions and account deletion, on MikroORM's kysely (see sql.ts).
 * Every multi-row change is one transaction.
 */
export function createAccountRepository(sql: Sql): AccountRepository {
  const db = () => sql.db();
  type Db = ReturnType<typeof db>;

  /**
   * The first statement of both queue calls: the token row, always exactly
   * one, for the user `which` selects if that user is active and under the
   * allowance, and for no user (null) otherwise. Writing a row either way
   * keeps the work equal: PostgreSQL flushes its WAL at commit only for a
   * transaction that wrote something, so a request for an unknown address
   * that wrote nothing answered ~10 ms sooner (measured). A row with no
   * user matches nothing at redemption and is purged once expired.
   */
  const insertToken = (
    trx: Db,
    which: (eb: ExpressionBuilder<Tables, "users">) => Expression<SqlBool>,
    token: NewOneTimeToken,
    allowance: MailAllowance,
  ) =>
    trx
      .insertInto("account_tokens")
      .values(({ selectFrom }) => ({
        token_hash: token.tokenHash,
        user_id: selectFrom("users")
          .select("users.id")
          .where(which)
          .where("users.is_active", "=", sql.flagToDb(true))
          .where(({ eb, selectFrom }) =>
            eb(
              selectFrom("account_tokens as c")
                .select(({ fn }) => fn.countAll().as("n"))
                .whereRef("c.user_id", "=", "users.id")
                .where("c.purpose", "=", token.purpose)
                .where("c.created_at", ">", sql.toDb(allowance.since)),
              "<",
              allowance.max,
            ),
          ),
        purpose: token.purpose,
        created_at: sql.toDb(token.createdAt),
        expires_at: sql.toDb(token.expiresAt),
      }))
      .returning("user_id")
      .executeTakeFirstOrThrow();

  /**
   * The second statement: the message, copied from the token row just
   * written if it has a user; otherwise it selects nothing. The same
   * statement runs either way.
   */
  const insertMailForToken = (trx: Db, tokenHash: string, mail: OutgoingMail, at: Date) =>
    trx
      .insertInto("mail_outbox")
      .columns([
        "id",
        "recipient",
        "subject",
        "text_body",
        "html_body",
        "kind",
        "user_id",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
      ])
      .expression((eb) =>
        eb
          .selectFrom("account_tokens as t")
          .select(({ val }) => [
            val(randomUUID()).as("id"),
            val(mail.to).as("recipient"),
            val(mail.subject).as("subject"),
            val(mail.text).as("text_body"),
            val(mail.html).as("html_body"),
            val(mail.kind).as("kind"),
            "t.user_id",
            val("queued").as("status"),
            val(0).as("attempts"),
            val(sql.toDb(at)).as("next_attempt_at"),
            val(sql.toDb(at)).as("created_at"),
          ])
          .where("t.token_hash", "=", tokenHash)
          .where("t.user_id", "is not", null),
      )
      .execute();

  async function queue(
    which: (eb: ExpressionBuilder<Tables, "users">) => Expression<SqlBool>,
    token: NewOneTimeToken,
    mail: OutgoingMail,
    allowance: MailAllowance,
  ): Promise<string | null> {
    return db()
      .transaction()
      .execute(async (trx) => {
        const written = await insertToken(trx, which, token, allowance);
        await insertMailForToken(trx, token.tokenHash, mail, token.createdAt);
        return written.user_id ?? null;
      });
  }

  /** The single-use gate: of concurrent redemptions exactly one changes the row. */
  const useToken = async (trx: Db, tokenHash: string, purpose: OneTimePurpose, at: Date) =>
    (
      await trx
        .updateTable("account_tokens")
        .set({ used_at: sql.toDb(at) })
        .where("token_hash", "=", tokenHash)
        .where("purpose", "=", purpose)
        .where("used_at", "is", null)
        .where("expires_at", ">", sql.toDb(at))
        .executeTakeFirst()
    ).numUpdatedRows === 1n;

  /** Every unused token of one purpose of the user dies (a newer link, or a change, supersedes them). */
  const useAllTokens = (trx: Db, userId: string, purpose: OneTimePurpose, at: Date) =>
    trx
      .updateTable("account_tokens")
      .set({ used_at: sql.toDb(at) })
      .where("user_id", "=", userId)
      .where("purpose", "=", purpose)
      .where("used_at", "is", null)
      .execute();

  return {
    async findAccount(userId) {
      const row = await db()
        .selectFrom("users as u")
        .select([...USER_COLUMNS, "u.password_hash"])
        .where("u.id", "=", userId)
        .executeTakeFirst();
      return row ? { user: toUser(sql, row), passwordHash: row.password_hash } : null;
    },

    queueForEmail: (email, token, mail, allowance) =>
      queue(({ eb }) => eb("users.email", "=", email), token, mail, allowance),

    async queueForUser(userId, token, mail, allowance) {
      const which = ({ eb, and }: ExpressionBuilder<Tables, "users">) =>
        and([eb("users.id", "=", userId), eb("users.email_verified", "=", sql.flagToDb(false))]);
      return (await queue(which, token, mail, allowance)) !== null;
    },

    async findToken(tokenHash) {
      const r = await db()
        .selectFrom("account_tokens as t")
        .innerJoin("users as u", "u.id", "t.user_id")
        .select(["t.purpose", "t.expires_at", "t.used_at", ...USER_COLUMNS])
        .where("t.token_hash", "=", tokenHash)
        .executeTakeFirst();
      if (!r) return null;
      return {
        purpose: r.purpose === "reset" ? "reset" : "verify",
        expiresAt: sql.date(r.expires_at),
        usedAt: sql.dateOrNull(r.used_at),
        user: toUser(sql, r),
      };
    },

    async redeemPasswordReset(reset) {
      return db()
        .transaction()
        .execute(async (trx) => {
          if (!(await useToken(trx, reset.tokenHash, "reset", reset.at))) return false;
          await trx
            .updateTable("users")
            .set({
              password_hash: reset.passwordHash,
              email_verified: sql.flagToDb(true),
              updated_at: sql.toDb(reset.at),
            })
            .where("id", "=", reset.userId)
            .execute();
          // Other reset links mailed earlier die with this one.
          await useAllTokens(trx, reset.userId, "reset", reset.at);
          await trx
            .updateTable("sessions")
            .set({ revoked_at: sql.toDb(reset.at) })
            .where("user_id", "=", reset.userId)
            .where("revoked_at", "is", null)
            .execute();
          return true;
        });
    },

    async redeemEmailVerification(r) {
      return db()
        .transaction()
        .execute(async (trx) => {
          if (!(await useToken(trx, r.tokenHash, "verify", r.at))) return false;
          await trx
            .updateTable("users")
            .set({ email_verified: sql.flagToDb(true), updated_at: sql.toDb(r.at) })
            .where("id", "=", r.userId)
            .execute();
          await useAllTokens(trx, r.userId, "verify", r.at);
          return true;
        });
    },

    async changePassword(change) {
      return db()
        .transaction()
        .execute(async (trx) => {
          await trx
            .updateTable("users")
            .set({ password_hash: change.passwordHash, updated_at: sql.toDb(change.at) })
            .where("id", "=", change.userId)
            .execute();
          // A reset link mailed before the change must not undo it.
          await useAllTokens(trx, change.userId, "reset", change.at);
          return endedCount(
            await openSessionsOf(trx, sql, change.userId, change.at)
              .where("id", "!=", change.keepSessionId)
              .executeTakeFirst(),
          );
        });
    },

    async listOpenSessions(userId, at): Promise<AccountSessionRecord[]> {
      const rows = await db()
        .selectFrom("sessions")
        .select(SESSION_LIST_COLUMNS)
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .where("expires_at", ">", sql.toDb(at))
        .orderBy("created_at", "desc")
        .orderBy("id", "asc")
        .execute();
      return rows.map((s) => ({
        id: s.id,
        createdAt: sql.date(s.created_at),
        lastUsedAt: sql.dateOrNull(s.last_used_at),
        expiresAt: sql.date(s.expires_at),
        clientAddress: s.client_address,
        userAgent: s.user_agent,
      }));
    },

    async revokeSession(userId, sessionId, at) {
      return (
        endedCount(await openSessionsOf(db(), sql, userId, at).where("id", "=", sessionId).executeTakeFirst()) === 1
      );
    },

    async revokeOtherSessions(userId, keepSessionId, at) {
      return endedCount(
        await openSessionsOf(db(), sql, userId, at).where("id", "!=", keepSessionId).executeTakeFirst(),
      );
    },

    async deleteAccount(userId) {
      // Explicit deletes, child tables first, rather than relying on the
      // foreign keys' ON DELETE CASCADE alone: the outcome does not depend on
      // a connection setting (SQLite's foreign_keys pragma).
      return db()
        .transaction()
        .execute(async (trx) => {
          await trx.deleteFrom("mail_outbox").where("user_id", "=", userId).execute();
          await trx.deleteFrom("account_tokens").where("user_id", "=", userId).execute();
          await trx
            .deleteFrom("refresh_tokens")
            .where("session_id", "in", trx.selectFrom("sessions").select("sessions.id").where("user_id", "=", userId))
            .execute();
          await trx.deleteFrom("sessions").where("user_id", "=", userId).execute();
          const deleted = await trx.deleteFrom("users").where("id", "=", userId).executeTakeFirst();
          return deleted.numDeletedRows === 1n;
        });
    },
  };
}
