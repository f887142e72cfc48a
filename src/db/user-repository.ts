import type { ExpressionBuilder } from "kysely";
import { userAlreadyExists } from "../domain/errors.js";
import type { NewUser, UserRepository } from "../domain/ports.js";
import type { User } from "../domain/types.js";
import { isUniqueViolation } from "./infra-errors.js";
import type { Row, Sql, Tables } from "./sql.js";

/**
 * The User aggregate: its one table, its one row mapper. Every query that
 * returns a user (the session repository's joins too) selects USER_COLUMNS.
 */

const USER_FIELDS = ["id", "email", "username", "is_active", "created_at", "updated_at", "last_login_at"] as const;
type UserRow = Row<"users", (typeof USER_FIELDS)[number]> & {
  /** Whether a confirmed TOTP factor exists: SQLite answers 0/1. */
  mfa_enabled: boolean | number;
};

/**
 * `mfa_enabled`, computed in the user's own read: an EXISTS on the factor
 * table's primary key, so no user read costs a second query. One spelling
 * for reads of `users as u`, one for writes returning the unaliased row.
 */
const mfaEnabled = (eb: ExpressionBuilder<Tables & { u: Tables["users"] }, "u">) =>
  eb
    .exists(
      eb
        .selectFrom("mfa_totp_factors as f")
        .select("f.user_id")
        .whereRef("f.user_id", "=", "u.id")
        .where("f.confirmed_at", "is not", null),
    )
    .as("mfa_enabled");
const mfaEnabledOfUsers = (eb: ExpressionBuilder<Tables, "users">) =>
  eb
    .exists(
      eb
        .selectFrom("mfa_totp_factors as f")
        .select("f.user_id")
        .whereRef("f.user_id", "=", "users.id")
        .where("f.confirmed_at", "is not", null),
    )
    .as("mfa_enabled");

/** The user's columns under the alias `u`, for joins. */
export const USER_COLUMNS = [...USER_FIELDS.map((f) => `u.${f}` as const), mfaEnabled];

export function toUser(sql: Sql, r: UserRow): User {
  return {
    id: r.id,
    email: r.email,
    username: r.username,
    isActive: sql.flag(r.is_active),
    createdAt: sql.date(r.created_at),
    updatedAt: sql.date(r.updated_at),
    lastLoginAt: sql.dateOrNull(r.last_login_at),
    mfaEnabled: sql.flag(r.mfa_enabled),
  };
}

export function createUserRepository(sql: Sql): UserRepository {
  return {
    async create(user: NewUser) {
      try {
        // entityDb: the id and timestamps come from the entity's onCreate hooks.
        const row = await sql
          .entityDb()
          .insertInto("users")
          .values({
            email: user.email,
            username: user.username,
            username_key: user.username.toLowerCase(),
            password_hash: user.passwordHash,
          })
          .returning(USER_FIELDS)
          .executeTakeFirstOrThrow();
        // A new user has no second factor yet.
        return toUser(sql, { ...row, mfa_enabled: false });
      } catch (e) {
        // The unique indexes decide races between concurrent registrations.
        if (isUniqueViolation(e)) throw userAlreadyExists();
        throw e;
      }
    },

    async findById(id: string) {
      const row = await sql
        .db()
        .selectFrom("users as u")
        .select(USER_COLUMNS)
        .where("u.id", "=", id)
        .executeTakeFirst();
      return row ? toUser(sql, row) : null;
    },

    async findByLogin(login: string) {
      const key = login.toLowerCase();
      const row = await sql
        .db()
        .selectFrom("users as u")
        .select([...USER_COLUMNS, "u.password_hash"])
        .where(key.includes("@") ? "u.email" : "u.username_key", "=", key)
        .executeTakeFirst();
      return row ? { user: toUser(sql, row), passwordHash: row.password_hash } : null;
    },

    async recordLogin(id: string, at: Date) {
      const row = await sql
        .entityDb()
        .updateTable("users")
        .set({ last_login_at: at })
        .where("id", "=", id)
        .returning([...USER_FIELDS, mfaEnabledOfUsers])
        .executeTakeFirstOrThrow();
      return toUser(sql, row);
    },

    async updatePasswordHash(id: string, passwordHash: string) {
      await sql.entityDb().updateTable("users").set({ password_hash: passwordHash }).where("id", "=", id).execute();
    },

    async setActive(id: string, active: boolean) {
      await sql
        .entityDb()
        .updateTable("users")
        .set({ is_active: sql.flagToDb(active) })
        .where("id", "=", id)
        .execute();
    },
  };
}
