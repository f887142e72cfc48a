import type { SessionAdministration } from "../domain/admin-ports.js";
import type { SessionRevoker } from "../domain/mfa-ports.js";
import type { NewSession, PurgeCounts, PurgeCutoffs, Rotation, SessionRepository } from "../domain/ports.js";
import type { RefreshTokenRecord, Session } from "../domain/types.js";
import { decodeAmr, encodeAmr } from "./amr-column.js";
import { endedCount, openSessionsOf, revokeOpenSessions } from "./session-revocation.js";
import { prepare, type Row, type Sql } from "./sql.js";
import { toUser, USER_COLUMNS } from "./user-repository.js";

/**
 * The Session aggregate: a session and its refresh tokens (one token family),
 * in the tables `sessions` and `refresh_tokens`, with their row mappers.
 *
 * GetCurrentUser and Refresh each read everything they need in one statement,
 * and a rotation (which also clears the session's seals whose grace window has
 * passed) is one statement on PostgreSQL and one short transaction on SQLite; these are built and compiled once (`prepare`) and run with bound
 * parameters. Writes off the hot paths go through `sql.entityDb()`, which
 * applies the entities' defaults.
 */

/** The session's columns, renamed where they would collide with the user's in a join. */
const SESSION_FIELDS = [
  "id as session_id",
  "user_id",
  "created_at as session_created_at",
  "expires_at as session_expires_at",
  "revoked_at as session_revoked_at",
  "amr",
] as const;
/** The same under the alias `s`, for joins. */
const SESSION_COLUMNS = SESSION_FIELDS.map((f) => `s.${f}` as const);
type SessionRow = {
  session_id: string;
  user_id: string;
  session_created_at: Row<"sessions", "created_at">["created_at"];
  session_expires_at: Row<"sessions", "expires_at">["expires_at"];
  session_revoked_at: Row<"sessions", "revoked_at">["revoked_at"];
  amr: Row<"sessions", "amr">["amr"];
};

/** A refresh token's columns under the alias `t`. */
const TOKEN_COLUMNS = [
  "t.token_hash",
  "t.session_id",
  "t.created_at as token_created_at",
  "t.expires_at as token_expires_at",
  "t.rotated_at",
  "t.successor",
] as const;
type TokenRow = Row<"refresh_tokens", "token_hash" | "session_id" | "rotated_at" | "successor"> & {
  token_created_at: Row<"refresh_tokens", "created_at">["created_at"];
  token_expires_at: Row<"refresh_tokens", "expires_at">["expires_at"];
};

const toSession = (sql: Sql, r: SessionRow): Session => ({
  id: r.session_id,
  userId: r.user_id,
  createdAt: sql.date(r.session_created_at),
  expiresAt: sql.date(r.session_expires_at),
  revokedAt: sql.dateOrNull(r.session_revoked_at),
  amr: decodeAmr(r.amr),
});

const toToken = (sql: Sql, r: TokenRow, session: Session): Omit<RefreshTokenRecord, "user"> => ({
  tokenHash: r.token_hash,
  sessionId: r.session_id,
  userId: session.userId,
  createdAt: sql.date(r.token_created_at),
  expiresAt: sql.date(r.token_expires_at),
  rotatedAt: sql.dateOrNull(r.rotated_at),
  successor: r.successor,
  sessionExpiresAt: session.expiresAt,
  sessionRevokedAt: session.revokedAt,
  sessionAmr: session.amr,
});

export function createSessionRepository(sql: Sql): SessionRepository & SessionAdministration & SessionRevoker {
  const tokenWithSessionAndUser = prepare(["tokenHash"], (v) =>
    sql
      .db()
      .selectFrom("refresh_tokens as t")
      .innerJoin("sessions as s", "s.id", "t.session_id")
      .innerJoin("users as u", "u.id", "s.user_id")
      .select([...TOKEN_COLUMNS, ...SESSION_COLUMNS, ...USER_COLUMNS])
      .where("t.token_hash", "=", v.tokenHash),
  );
  const sessionWithUser = prepare(["id"], (v) =>
    sql
      .db()
      .selectFrom("sessions as s")
      .innerJoin("users as u", "u.id", "s.user_id")
      .select([...SESSION_COLUMNS, ...USER_COLUMNS])
      .where("s.id", "=", v.id),
  );

  const rotate = sql.dialect === "postgresql" ? rotationOnPostgres(sql) : rotationOnSqlite(sql);

  return {
    async create(s: NewSession) {
      // entityDb: the session's id and created_at come from the entity's onCreate hooks.
      return sql
        .entityDb()
        .transaction()
        .execute(async (trx) => {
          const row = await trx
            .insertInto("sessions")
            .values({
              user_id: s.userId,
              expires_at: s.expiresAt,
              client_address: s.clientAddress,
              user_agent: s.userAgent,
              ...(s.amr ? { amr: encodeAmr(s.amr) } : {}),
            })
            .returning(SESSION_FIELDS)
            .executeTakeFirstOrThrow();
          await trx
            .insertInto("refresh_tokens")
            .values({ token_hash: s.refreshTokenHash, session_id: row.session_id, expires_at: s.refreshExpiresAt })
            .execute();
          return toSession(sql, row);
        });
    },

    async findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | null> {
      const [r] = (await tokenWithSessionAndUser.run(sql.db(), { tokenHash })).rows;
      return r ? { ...toToken(sql, r, toSession(sql, r)), user: toUser(sql, r) } : null;
    },

    async findSessionWithUser(id: string) {
      const [r] = (await sessionWithUser.run(sql.db(), { id })).rows;
      return r ? { session: toSession(sql, r), user: toUser(sql, r) } : null;
    },

    rotate,

    async revoke(sessionId: string, at: Date) {
      await sql
        .db()
        .updateTable("sessions")
        .set({ revoked_at: sql.toDb(at) })
        .where("id", "=", sessionId)
        .where("revoked_at", "is", null)
        .execute();
      // An ended family replays nothing: its seals go at once.
      await sql
        .db()
        .updateTable("refresh_tokens")
        .set({ successor: null })
        .where("session_id", "=", sessionId)
        .where("successor", "is not", null)
        .execute();
    },

    async revokeAllForUser(userId: string, at: Date) {
      await sql
        .db()
        .updateTable("sessions")
        .set({ revoked_at: sql.toDb(at) })
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .execute();
      await sql
        .db()
        .updateTable("refresh_tokens")
        .set({ successor: null })
        .where("successor", "is not", null)
        .where("session_id", "in", (eb) => eb.selectFrom("sessions").select("id").where("user_id", "=", userId))
        .execute();
    },

    async purge(c: PurgeCutoffs): Promise<PurgeCounts> {
      const limit = Math.max(1, c.limit);
      const db = sql.db();
      // Each statement touches at most `limit` rows, picked by primary key.
      const seals = await db
        .updateTable("refresh_tokens")
        .set({ successor: null })
        .where("token_hash", "in", (eb) =>
          eb
            .selectFrom("refresh_tokens")
            .select("token_hash")
            .where("successor", "is not", null)
            .where("rotated_at", "<", sql.toDb(c.sealsRotatedBefore))
            .limit(limit),
        )
        .executeTakeFirst();
      const expired = await db
        .deleteFrom("refresh_tokens")
        .where("token_hash", "in", (eb) =>
          eb
            .selectFrom("refresh_tokens")
            .select("token_hash")
            .where("expires_at", "<", sql.toDb(c.tokensExpiredBefore))
            .limit(limit),
        )
        .executeTakeFirst();
      // The tokens of ended sessions go first, in bounded batches, so that deleting a session
      // below cascades to (almost) nothing: a long family must not make one statement slow.
      const ended = sql.toDb(c.sessionsEndedBefore);
      const orphaned = await db
        .deleteFrom("refresh_tokens")
        .where("token_hash", "in", (eb) =>
          eb
            .selectFrom("refresh_tokens as t")
            .innerJoin("sessions as s", "s.id", "t.session_id")
            .select("t.token_hash")
            .where((w) => w.or([w("s.expires_at", "<", ended), w("s.revoked_at", "<", ended)]))
            .limit(limit),
        )
        .executeTakeFirst();
      const sessions = await db
        .deleteFrom("sessions")
        .where("id", "in", (eb) =>
          eb
            .selectFrom("sessions as s")
            .select("s.id")
            .where((w) => w.or([w("s.expires_at", "<", ended), w("s.revoked_at", "<", ended)]))
            // A session whose tokens are not all gone yet waits for the next run.
            .where(({ not, exists, selectFrom }) =>
              not(
                exists(selectFrom("refresh_tokens as t").select("t.token_hash").whereRef("t.session_id", "=", "s.id")),
              ),
            )
            .limit(limit),
        )
        .executeTakeFirst();
      return {
        sealsCleared: Number(seals.numUpdatedRows),
        tokensDeleted: Number(expired.numDeletedRows) + Number(orphaned.numDeletedRows),
        sessionsDeleted: Number(sessions.numDeletedRows),
      };
    },

    // --- SessionAdministration (AdminService) ---

    async listOpenForUser(userId: string, now: Date) {
      const rows = await sql
        .db()
        .selectFrom("sessions")
        .select(SESSION_FIELDS)
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .where("expires_at", ">", sql.toDb(now))
        .orderBy("created_at", "desc")
        .orderBy("id", "desc")
        .execute();
      return rows.map((r) => toSession(sql, r));
    },

    revokeOpenForUser: (userId: string, at: Date) => revokeOpenSessions(sql.db(), sql, userId, at),

    // --- SessionRevoker (turning on a second factor signs out the other sessions) ---

    async revokeOthers(userId: string, keepSessionId: string | null, at: Date) {
      const others = openSessionsOf(sql.db(), sql, userId, at);
      return endedCount(
        await (keepSessionId === null ? others : others.where("id", "!=", keepSessionId)).executeTakeFirst(),
      );
    },
  };
}

/*
 * The rotation. The conditional update is the gate: of concurrent rotations
 * of one token, exactly one sees a row to change. The new row is written with
 * every column (created_at, the entity's one default, is the rotation's time).
 * When the rotation says so (`sealsRotatedBefore`), the session's seals past
 * their window are cleared in the same unit; otherwise that write is skipped.
 */
const ROTATION = ["at", "successor", "oldTokenHash", "newTokenHash", "newExpiresAt"] as const;

const rotationValues = (sql: Sql, r: Rotation) => ({
  ...r,
  at: sql.toDb(r.at),
  newExpiresAt: sql.toDb(r.newExpiresAt),
  sealsRotatedBefore: r.sealsRotatedBefore === null ? null : sql.toDb(r.sealsRotatedBefore),
});

/**
 * PostgreSQL: one statement (data-modifying CTEs run together, atomically):
 * one round trip instead of begin, three or four statements and commit.
 */
function rotationOnPostgres(sql: Sql): (r: Rotation) => Promise<boolean> {
  const rotateOnly = prepare(ROTATION, (v) =>
    sql
      .db()
      .with("rotated", (db) =>
        db
          .updateTable("refresh_tokens")
          .set({ rotated_at: v.at, successor: v.successor })
          .where("token_hash", "=", v.oldTokenHash)
          .where("rotated_at", "is", null)
          .returning("session_id"),
      )
      // The session's last use, in the same statement and only for the winner.
      .with("touched", (db) =>
        db
          .updateTable("sessions")
          .set({ last_used_at: v.at })
          .where("id", "in", db.selectFrom("rotated").select("rotated.session_id")),
      )
      .insertInto("refresh_tokens")
      .columns(["token_hash", "session_id", "created_at", "expires_at"])
      .expression((db) =>
        db
          .selectFrom("rotated")
          .select((eb) => [
            eb.val(v.newTokenHash).as("token_hash"),
            "rotated.session_id",
            eb.cast(eb.val(v.at), "timestamptz").as("created_at"),
            eb.cast(eb.val(v.newExpiresAt), "timestamptz").as("expires_at"),
          ]),
      ),
  );
  // The same, with one more CTE for the seals past their window.
  const rotateAndClear = prepare([...ROTATION, "sessionId", "sealsRotatedBefore"], (v) =>
    sql
      .db()
      .with("rotated", (db) =>
        db
          .updateTable("refresh_tokens")
          .set({ rotated_at: v.at, successor: v.successor })
          .where("token_hash", "=", v.oldTokenHash)
          .where("rotated_at", "is", null)
          .returning("session_id"),
      )
      // Disjoint from the row above: that one is not rotated yet in this statement's snapshot.
      .with("cleared", (db) =>
        db
          .updateTable("refresh_tokens")
          .set({ successor: null })
          .where("session_id", "=", v.sessionId)
          .where("successor", "is not", null)
          .where("rotated_at", "<", v.sealsRotatedBefore)
          .returning("token_hash"),
      )
      // The session's last use, in the same statement and only for the winner.
      .with("touched", (db) =>
        db
          .updateTable("sessions")
          .set({ last_used_at: v.at })
          .where("id", "in", db.selectFrom("rotated").select("rotated.session_id")),
      )
      .insertInto("refresh_tokens")
      .columns(["token_hash", "session_id", "created_at", "expires_at"])
      .expression((db) =>
        db
          .selectFrom("rotated")
          .select((eb) => [
            eb.val(v.newTokenHash).as("token_hash"),
            "rotated.session_id",
            eb.cast(eb.val(v.at), "timestamptz").as("created_at"),
            eb.cast(eb.val(v.newExpiresAt), "timestamptz").as("expires_at"),
          ]),
      ),
  );
  return async (r) => {
    const values = rotationValues(sql, r);
    const statement = values.sealsRotatedBefore === null ? rotateOnly : rotateAndClear;
    return (await statement.run(sql.db(), values)).numAffectedRows === 1n;
  };
}

/** SQLite: the gate, the insert, the seal clearing (when due) and the session's last use in one transaction (on its one connection, it is short). */
function rotationOnSqlite(sql: Sql): (r: Rotation) => Promise<boolean> {
  const markRotated = prepare(["at", "successor", "oldTokenHash"], (v) =>
    sql
      .db()
      .updateTable("refresh_tokens")
      .set({ rotated_at: v.at, successor: v.successor })
      .where("token_hash", "=", v.oldTokenHash)
      .where("rotated_at", "is", null),
  );
  const insertSuccessor = prepare(["newTokenHash", "sessionId", "at", "newExpiresAt"], (v) =>
    sql.db().insertInto("refresh_tokens").values({
      token_hash: v.newTokenHash,
      session_id: v.sessionId,
      created_at: v.at,
      expires_at: v.newExpiresAt,
      rotated_at: null,
      successor: null,
    }),
  );
  const clearPastSeals = prepare(["sessionId", "sealsRotatedBefore"], (v) =>
    sql
      .db()
      .updateTable("refresh_tokens")
      .set({ successor: null })
      .where("session_id", "=", v.sessionId)
      .where("successor", "is not", null)
      .where("rotated_at", "<", v.sealsRotatedBefore),
  );
  const touchSession = prepare(["at", "sessionId"], (v) =>
    sql.db().updateTable("sessions").set({ last_used_at: v.at }).where("id", "=", v.sessionId),
  );
  return (r) => {
    const values = rotationValues(sql, r);
    return sql
      .db()
      .transaction()
      .execute(async (trx) => {
        if ((await markRotated.run(trx, values)).numAffectedRows !== 1n) return false;
        await insertSuccessor.run(trx, values);
        if (values.sealsRotatedBefore !== null) await clearPastSeals.run(trx, values);
        await touchSession.run(trx, values);
        return true;
      });
  };
}
