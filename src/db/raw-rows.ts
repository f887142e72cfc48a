import type { Rotation } from "../domain/ports.js";
import type { RefreshTokenRecord, Session, User } from "../domain/types.js";
import type { Orm } from "./orm.js";
import { dateCodec, type RawRow, USER_COLUMNS, userFromRow } from "./user-rows.js";

/** The part of better-sqlite3's Database used here. */
interface SqliteClient {
  prepare(sql: string): { get(...params: unknown[]): unknown; run(...params: unknown[]): { changes: number } };
  /** True while a transaction (the ORM's, between its awaits) is open on the one connection. */
  readonly inTransaction: boolean;
  transaction<T>(fn: () => T): () => T;
}
const isSqliteClient = (c: unknown): c is SqliteClient =>
  typeof c === "object" && c !== null && "prepare" in c && "pragma" in c;

/**
 * The queries of every GetCurrentUser and Refresh, in plain SQL on the
 * connection: no query builder, no entity manager, no unit of work. Per
 * query ~75 µs of CPU less than createQueryBuilder; the rotation's
 * transaction 686 -> 124 µs on SQLite, 1451 -> 707 µs on PostgreSQL (bench/).
 * The SQL is the same in both dialects; the values are not (see dateCodec).
 */
export function createRawSql(orm: Orm) {
  const dates = dateCodec(orm);
  const { toDb, date, dateOrNull } = dates;
  const one = (sql: string, params: readonly unknown[]) =>
    orm.em.getConnection().execute<RawRow>(sql, params, "get") as Promise<RawRow | undefined>;

  // MikroORM inlines values into the SQL text, so SQLite prepares every query
  // anew. For the reads that need no transaction, SQLite's own client runs a
  // prepared, parameterised statement instead (kept by sqlite-statement-cache).
  // An `isolated` read (the refresh token) must not see another call's open
  // rotation: while a transaction is open on the connection it goes through
  // the ORM, which waits for it.
  let sqlite: Promise<SqliteClient | null> | undefined;
  const sqliteClient = () =>
    (sqlite ??= orm.em
      .getConnection()
      .getNativeClient()
      .then((c) => (isSqliteClient(c) ? c : null)));
  const read = async (
    sql: string,
    params: readonly unknown[],
    opts: { isolated?: boolean } = {},
  ): Promise<RawRow | undefined> => {
    const db = await sqliteClient();
    if (!db || (opts.isolated && db.inTransaction)) return one(sql, params);
    try {
      return db.prepare(sql).get(...params) as RawRow | undefined;
    } catch (e) {
      throw e instanceof Error ? orm.em.getDriver().convertException(e) : e;
    }
  };

  const user = (r: RawRow): User => userFromRow(r, dates);

  return {
    /** The one read of GetCurrentUser and of every token check: the session and its user, roles included. */
    async sessionWithUser(id: string): Promise<{ session: Session; user: User } | null> {
      const r = await read(
        "select s.id as session_id, s.created_at as session_created_at, s.expires_at as session_expires_at," +
          ` s.revoked_at as session_revoked_at, ${USER_COLUMNS} from sessions s join users u on u.id = s.user_id` +
          " where s.id = ?",
        [id],
      );
      if (!r) return null;
      return {
        session: {
          id: String(r.session_id),
          userId: String(r.id),
          createdAt: date(r.session_created_at),
          expiresAt: date(r.session_expires_at),
          revokedAt: dateOrNull(r.session_revoked_at),
        },
        user: user(r),
      };
    },

    /** A refresh token with what Refresh needs of its session and user, in one query. */
    async refreshToken(tokenHash: string): Promise<RefreshTokenRecord | null> {
      const r = await read(
        "select t.token_hash, t.session_id, t.expires_at as token_expires_at, t.rotated_at, t.successor," +
          " s.expires_at as session_expires_at, s.revoked_at as session_revoked_at," +
          ` ${USER_COLUMNS}` +
          " from refresh_tokens t join sessions s on s.id = t.session_id join users u on u.id = s.user_id" +
          " where t.token_hash = ?",
        [tokenHash],
        { isolated: true },
      );
      if (!r) return null;
      return {
        tokenHash: String(r.token_hash),
        sessionId: String(r.session_id),
        userId: String(r.id),
        expiresAt: date(r.token_expires_at),
        rotatedAt: dateOrNull(r.rotated_at),
        successor: r.successor === null || r.successor === undefined ? null : String(r.successor),
        sessionExpiresAt: date(r.session_expires_at),
        sessionRevokedAt: dateOrNull(r.session_revoked_at),
        user: user(r),
      };
    },

    /**
     * Marks the old token rotated and stores its successor, atomically. The
     * conditional update is the gate: of concurrent rotations of one token,
     * exactly one sees a row to change.
     */
    async rotate(r: Rotation): Promise<boolean> {
      const conn = orm.em.getConnection();
      const db = await sqliteClient();
      if (!db) {
        // PostgreSQL: gate and insert as one statement (a data-modifying CTE
        // is atomic on its own): one round trip instead of begin, update,
        // insert, commit.
        const inserted = await conn.execute<{ affectedRows: number }>(
          "with rotated as (update refresh_tokens set rotated_at = ?, successor = ? where token_hash = ? and rotated_at is null" +
            " returning session_id) insert into refresh_tokens (token_hash, session_id, created_at, expires_at)" +
            " select ?, session_id, ?, ? from rotated",
          [toDb(r.at), r.successor, r.oldTokenHash, r.newTokenHash, toDb(r.at), toDb(r.newExpiresAt)],
          "run",
        );
        return inserted.affectedRows === 1;
      }
      const rotateNow = () => {
        const changed = db
          .prepare(
            "update refresh_tokens set rotated_at = ?, successor = ? where token_hash = ? and rotated_at is null",
          )
          .run(toDb(r.at), r.successor, r.oldTokenHash).changes;
        if (changed !== 1) return false;
        db.prepare(
          "insert into refresh_tokens (token_hash, session_id, created_at, expires_at) values (?, ?, ?, ?)",
        ).run(r.newTokenHash, r.sessionId, toDb(r.at), toDb(r.newExpiresAt));
        return true;
      };
      const converted = (e: unknown) => (e instanceof Error ? orm.em.getDriver().convertException(e) : e);
      // SQLite has one connection. When no transaction is open on it, a
      // synchronous native transaction runs whole before anything else can;
      // otherwise the ORM's transaction waits its turn and holds the
      // connection (its mutex keeps other ORM queries out) while the same
      // statements run inside it.
      if (!db.inTransaction) {
        try {
          return db.transaction(rotateNow)();
        } catch (e) {
          throw converted(e);
        }
      }
      return conn.transactional(async () => {
        try {
          return rotateNow();
        } catch (e) {
          throw converted(e);
        }
      });
    },
  };
}
