import { userAlreadyExists } from "../domain/errors.js";
import type { NewUser, UserRepository } from "../domain/ports.js";
import type { User } from "../domain/types.js";
import { isUniqueViolation } from "./infra-errors.js";
import type { Row, Sql } from "./sql.js";

/**
 * The User aggregate: its one table, its one row mapper. Every query that
 * returns a user (the session repository's joins too) selects USER_COLUMNS.
 */

const USER_FIELDS = [
  "id",
  "email",
  "username",
  "is_active",
  "created_at",
  "updated_at",
  "last_login_at",
  "email_verified",
] as const;
type UserRow = Row<"users", (typeof USER_FIELDS)[number]>;

/** The user's columns under the alias `u`, for joins. */
export const USER_COLUMNS = USER_FIELDS.map((f) => `u.${f}` as const);

export function toUser(sql: Sql, r: UserRow): User {
  return {
    id: r.id,
    email: r.email,
    username: r.username,
    isActive: sql.flag(r.is_active),
    createdAt: sql.date(r.created_at),
    updatedAt: sql.date(r.updated_at),
    lastLoginAt: sql.dateOrNull(r.last_login_at),
    emailVerified: sql.flag(r.email_verified),
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
        return toUser(sql, row);
      } catch (e) {
        // The unique indexes decide races between concurrent registrations.
        if (isUniqueViolation(e)) throw userAlreadyExists();
        throw e;
      }
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
        .returning(USER_FIELDS)
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
