import { randomUUID } from "node:crypto";
import type {
  AccountRecord,
  AccountRepository,
  AccountSessionRecord,
  MailAllowance,
  NewOneTimeToken,
  OneTimePurpose,
  OutgoingMail,
} from "../domain/account-ports.js";
import { AccountTokenEntity, MailOutboxEntity, SessionEntity, UserEntity } from "./entities.js";
import type { Orm } from "./orm.js";

type Row = Record<string, unknown>;

/**
 * Storage of the account lifecycle: one-time tokens, the writes into the
 * mail outbox that go with them, password and verification state, the
 * user's sessions and account deletion. Every multi-row change is one
 * transaction. Each call works in its own forked EntityManager.
 */
export function createAccountRepository(orm: Orm): AccountRepository {
  const em = () => orm.em.fork();
  const platform = orm.em.getPlatform();
  const toDb = (d: Date): unknown => platform.processDateProperty(d);
  const date = (v: unknown): Date =>
    v instanceof Date ? v : platform.parseDate(typeof v === "number" ? v : String(v));
  const dateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : date(v));
  const bool = (v: unknown) => v === true || v === 1;

  /**
   * The first statement of both queue calls: the token row, always exactly
   * one, for the user `where` selects if that user is active and under the
   * allowance, and for no user (null) otherwise. Writing a row either way
   * keeps the work equal: PostgreSQL flushes its WAL at commit only for a
   * transaction that wrote something, so a request for an unknown address
   * that wrote nothing answered ~10 ms sooner (measured). A row with no
   * user matches nothing at redemption and is purged once expired.
   */
  const insertToken = (where: string, key: unknown, token: NewOneTimeToken, allowance: MailAllowance) =>
    [
      "insert into account_tokens (token_hash, user_id, purpose, created_at, expires_at) values (?," +
        ` (select u.id from users u where ${where} and u.is_active = true` +
        " and (select count(*) from account_tokens c where c.user_id = u.id and c.purpose = ? and c.created_at > ?) < ?)," +
        " ?, ?, ?) returning user_id",
      [
        token.tokenHash,
        key,
        token.purpose,
        toDb(allowance.since),
        allowance.max,
        token.purpose,
        toDb(token.createdAt),
        toDb(token.expiresAt),
      ],
    ] as const;

  /**
   * The second statement: the message, copied from the token row just
   * written if it has a user; otherwise it selects nothing. The same
   * statement runs either way.
   */
  const insertMailForToken = (tokenHash: string, mail: OutgoingMail, at: Date) =>
    [
      "insert into mail_outbox (id, recipient, subject, text_body, html_body, kind, user_id, status, attempts," +
        " next_attempt_at, created_at) select ?, ?, ?, ?, ?, ?, t.user_id, 'queued', 0, ?, ? from account_tokens t" +
        " where t.token_hash = ? and t.user_id is not null",
      [randomUUID(), mail.to, mail.subject, mail.text, mail.html, mail.kind, toDb(at), toDb(at), tokenHash],
    ] as const;

  async function queue(
    where: string,
    key: unknown,
    token: NewOneTimeToken,
    mail: OutgoingMail,
    allowance: MailAllowance,
  ): Promise<string | null> {
    return em().transactional(async (tx) => {
      const [tokenSql, tokenParams] = insertToken(where, key, token, allowance);
      const written = await tx.execute<Row[]>(tokenSql, [...tokenParams], "all");
      const [mailSql, mailParams] = insertMailForToken(token.tokenHash, mail, token.createdAt);
      await tx.execute(mailSql, [...mailParams], "run");
      const userId = written[0]?.user_id;
      return userId === undefined || userId === null ? null : String(userId);
    });
  }

  /** The single-use gate: of concurrent redemptions exactly one changes the row. */
  const useToken = (tx: ReturnType<typeof em>, tokenHash: string, purpose: OneTimePurpose, at: Date) =>
    tx.nativeUpdate(AccountTokenEntity, { tokenHash, purpose, usedAt: null, expiresAt: { $gt: at } }, { usedAt: at });

  const openSessions = (userId: string, at: Date) => ({
    user: userId,
    revokedAt: null,
    expiresAt: { $gt: at },
  });

  return {
    async findAccount(userId: string): Promise<AccountRecord | null> {
      const u = await em().findOne(UserEntity, { id: userId }, { populate: ["passwordHash"] });
      if (!u) return null;
      return {
        id: u.id,
        email: u.email,
        username: u.username,
        isActive: u.isActive,
        emailVerified: u.emailVerified,
        passwordHash: u.passwordHash,
      };
    },

    queueForEmail: (email, token, mail, allowance) => queue("u.email = ?", email, token, mail, allowance),

    async queueForUser(userId, token, mail, allowance) {
      return (await queue("u.id = ? and u.email_verified = false", userId, token, mail, allowance)) !== null;
    },

    async findToken(tokenHash) {
      const r = (await em().execute<Row>(
        "select t.user_id, t.purpose, t.expires_at, t.used_at, u.email, u.username, u.is_active" +
          " from account_tokens t join users u on u.id = t.user_id where t.token_hash = ?",
        [tokenHash],
        "get",
      )) as Row | undefined;
      if (!r) return null;
      return {
        userId: String(r.user_id),
        purpose: r.purpose === "reset" ? "reset" : "verify",
        expiresAt: date(r.expires_at),
        usedAt: dateOrNull(r.used_at),
        email: String(r.email),
        username: String(r.username),
        userActive: bool(r.is_active),
      };
    },

    async redeemPasswordReset(reset) {
      return em().transactional(async (tx) => {
        if ((await useToken(tx, reset.tokenHash, "reset", reset.at)) !== 1) return false;
        await tx.nativeUpdate(
          UserEntity,
          { id: reset.userId },
          { passwordHash: reset.passwordHash, emailVerified: true, updatedAt: reset.at },
        );
        // Other reset links mailed earlier die with this one.
        await tx.nativeUpdate(
          AccountTokenEntity,
          { user: reset.userId, purpose: "reset", usedAt: null },
          { usedAt: reset.at },
        );
        await tx.nativeUpdate(SessionEntity, { user: reset.userId, revokedAt: null }, { revokedAt: reset.at });
        return true;
      });
    },

    async redeemEmailVerification(r) {
      return em().transactional(async (tx) => {
        if ((await useToken(tx, r.tokenHash, "verify", r.at)) !== 1) return false;
        await tx.nativeUpdate(UserEntity, { id: r.userId }, { emailVerified: true, updatedAt: r.at });
        await tx.nativeUpdate(
          AccountTokenEntity,
          { user: r.userId, purpose: "verify", usedAt: null },
          { usedAt: r.at },
        );
        return true;
      });
    },

    async changePassword(change) {
      return em().transactional(async (tx) => {
        await tx.nativeUpdate(
          UserEntity,
          { id: change.userId },
          { passwordHash: change.passwordHash, updatedAt: change.at },
        );
        // A reset link mailed before the change must not undo it.
        await tx.nativeUpdate(
          AccountTokenEntity,
          { user: change.userId, purpose: "reset", usedAt: null },
          { usedAt: change.at },
        );
        return tx.nativeUpdate(
          SessionEntity,
          { ...openSessions(change.userId, change.at), id: { $ne: change.keepSessionId } },
          { revokedAt: change.at },
        );
      });
    },

    async listOpenSessions(userId, at): Promise<AccountSessionRecord[]> {
      const rows = await em().find(SessionEntity, openSessions(userId, at), {
        orderBy: { createdAt: "desc", id: "asc" },
      });
      return rows.map((s) => ({
        id: s.id,
        createdAt: s.createdAt,
        lastUsedAt: s.lastUsedAt ?? null,
        expiresAt: s.expiresAt,
        clientAddress: s.clientAddress ?? null,
        userAgent: s.userAgent ?? null,
      }));
    },

    async revokeSession(userId, sessionId, at) {
      return (
        (await em().nativeUpdate(SessionEntity, { ...openSessions(userId, at), id: sessionId }, { revokedAt: at })) ===
        1
      );
    },

    revokeOtherSessions: (userId, keepSessionId, at) =>
      em().nativeUpdate(SessionEntity, { ...openSessions(userId, at), id: { $ne: keepSessionId } }, { revokedAt: at }),

    async deleteAccount(userId) {
      // Explicit deletes, child tables first, rather than relying on the
      // foreign keys' ON DELETE CASCADE alone: the outcome does not depend on
      // a connection setting (SQLite's foreign_keys pragma).
      return em().transactional(async (tx) => {
        await tx.nativeDelete(MailOutboxEntity, { user: userId });
        await tx.nativeDelete(AccountTokenEntity, { user: userId });
        await tx.execute(
          "delete from refresh_tokens where session_id in (select id from sessions where user_id = ?)",
          [userId],
          "run",
        );
        await tx.nativeDelete(SessionEntity, { user: userId });
        return (await tx.nativeDelete(UserEntity, { id: userId })) === 1;
      });
    },
  };
}
