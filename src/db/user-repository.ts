import type { ExpressionBuilder } from "kysely";
import type { UserAdministration, UserListQuery } from "../domain/admin-ports.js";
import { userAlreadyExists } from "../domain/errors.js";
import type { NewUser, UserRepository } from "../domain/ports.js";
import type { User } from "../domain/types.js";
import { isUniqueViolation } from "./infra-errors.js";
import { revokeOpenSessions } from "./session-revocation.js";
import type { Row, Sql, Tables } from "./sql.js";

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
  "roles",
  "email_verified",
] as const;
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
    roles: decodeRoles(r.roles),
    emailVerified: sql.flag(r.email_verified),
    mfaEnabled: sql.flag(r.mfa_enabled),
  };
}

/**
 * users.roles holds the role names sorted and separated by single spaces
 * ("" for none): role names contain no space (domain/roles.ts), and one text
 * column comes with the user at no extra cost on every token check, with no
 * join or per-dialect aggregate.
 */
const encodeRoles = (roles: readonly string[]): string => roles.join(" ");
const decodeRoles = (value: string): string[] => (value.length > 0 ? value.split(" ") : []);

/** How often a role change retries when another writer changed the roles between its read and its write. */
const ROLE_CHANGE_ATTEMPTS = 10;

export function createUserRepository(sql: Sql): UserRepository & UserAdministration {
  async function findById(id: string): Promise<User | null> {
    const row = await sql.db().selectFrom("users as u").select(USER_COLUMNS).where("u.id", "=", id).executeTakeFirst();
    return row ? toUser(sql, row) : null;
  }

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

    // --- UserAdministration (AdminService and the admin command) ---

    findById,

    async list({ limit, after, prefix }: UserListQuery) {
      let q = sql.db().selectFrom("users as u").select(USER_COLUMNS);
      if (prefix !== null) {
        // Both columns are stored lower-case, so a lower-case prefix matches
        // case-insensitively. substr, not LIKE: no character of the query is
        // a wildcard, with no escaping rules that differ between dialects.
        const n = [...prefix].length;
        q = q.where((eb) =>
          eb.or([
            eb(eb.fn("substr", ["u.email", eb.lit(1), eb.val(n)]), "=", prefix),
            eb(eb.fn("substr", ["u.username_key", eb.lit(1), eb.val(n)]), "=", prefix),
          ]),
        );
      }
      if (after !== null) {
        // Keyset: strictly after the last row of the previous page, in the
        // index's order. A user created meanwhile sorts after every older one,
        // so no user is skipped or seen twice.
        const at = sql.toDb(after.createdAt);
        q = q.where((eb) =>
          eb.or([eb("u.created_at", ">", at), eb.and([eb("u.created_at", "=", at), eb("u.id", ">", after.id)])]),
        );
      }
      const rows = await q.orderBy("u.created_at").orderBy("u.id").limit(limit).execute();
      return rows.map((r) => toUser(sql, r));
    },

    async deactivate(id: string, at: Date) {
      const revoked = await sql
        .db()
        .transaction()
        .execute(async (trx) => {
          const changed = await trx
            .updateTable("users")
            .set({ is_active: sql.flagToDb(false), updated_at: sql.toDb(at) })
            .where("id", "=", id)
            .executeTakeFirst();
          if (changed.numUpdatedRows === 0n) return null;
          return revokeOpenSessions(trx, sql, id, at);
        });
      if (revoked === null) return null;
      const user = await findById(id);
      return user ? { user, revokedSessions: revoked } : null;
    },

    async reactivate(id: string, at: Date) {
      const row = await sql
        .db()
        .updateTable("users")
        .set({ is_active: sql.flagToDb(true), updated_at: sql.toDb(at) })
        .where("id", "=", id)
        .returning([...USER_FIELDS, mfaEnabledOfUsers])
        .executeTakeFirst();
      return row ? toUser(sql, row) : null;
    },

    async changeRoles(id, change, at) {
      // Compare-and-set on the column: the write applies only if the roles are
      // still those the change was computed from; otherwise read and retry.
      // Works across processes (the admin command beside the service) with no lock.
      for (let attempt = 0; attempt < ROLE_CHANGE_ATTEMPTS; attempt++) {
        const current = await findById(id);
        if (!current) return null;
        const before = encodeRoles(current.roles);
        const next = encodeRoles(change(current.roles));
        if (next === before) return { before: current.roles, user: current };
        const row = await sql
          .db()
          .updateTable("users")
          .set({ roles: next, updated_at: sql.toDb(at) })
          .where("id", "=", id)
          .where("roles", "=", before)
          .returning([...USER_FIELDS, mfaEnabledOfUsers])
          .executeTakeFirst();
        if (row) return { before: current.roles, user: toUser(sql, row) };
      }
      throw new Error("the user's roles kept changing; try again");
    },

    async delete(id: string) {
      // One statement, so one transaction: the foreign keys (on delete
      // cascade, enforced in both dialects) remove the sessions and their
      // refresh tokens with the user.
      const r = await sql.db().deleteFrom("users").where("id", "=", id).executeTakeFirst();
      return r.numDeletedRows > 0n;
    },
  };
}
