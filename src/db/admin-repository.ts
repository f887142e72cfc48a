import type { AdminRepository, UserListQuery } from "../domain/ports.js";
import type { Session, User } from "../domain/types.js";
import { SessionEntity, UserEntity } from "./entities.js";
import type { Orm } from "./orm.js";
import { dateCodec, encodeRoles, type RawRow, USER_COLUMNS, userFromRow } from "./user-rows.js";

/**
 * AdminService's storage and the admin command's. Reads are plain SQL (the
 * user columns of user-rows.ts); writes go through the entity manager, each
 * call on its own fork so no identity map outlives it.
 */

/** How often a role change retries when another writer changed the roles between its read and its write. */
const ROLE_CHANGE_ATTEMPTS = 10;

/** `%`, `_` and the escape character itself match literally in a LIKE pattern only when escaped. */
const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const toSession = (s: SessionEntity): Session => ({
  id: s.id,
  userId: s.user.id,
  createdAt: s.createdAt,
  expiresAt: s.expiresAt,
  revokedAt: s.revokedAt ?? null,
});

export function createAdminRepository(orm: Orm): AdminRepository {
  const em = () => orm.em.fork();
  const dates = dateCodec(orm);
  const conn = () => orm.em.getConnection();
  const toUser = (r: RawRow) => userFromRow(r, dates);

  async function findUser(id: string): Promise<User | null> {
    const r = await conn().execute<RawRow>(`select ${USER_COLUMNS} from users u where u.id = ?`, [id], "get");
    return r ? toUser(r) : null;
  }

  return {
    findUser,

    async findUserByLogin(emailOrUsername: string) {
      const key = emailOrUsername.toLowerCase();
      const column = key.includes("@") ? "email" : "username_key";
      const r = await conn().execute<RawRow>(`select ${USER_COLUMNS} from users u where u.${column} = ?`, [key], "get");
      return r ? toUser(r) : null;
    },

    async listUsers({ limit, after, prefix }: UserListQuery) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (prefix !== null) {
        // Both columns are stored lower-case, so a lower-case prefix matches
        // case-insensitively in both dialects. ESCAPE is explicit: SQLite has
        // no default escape character.
        where.push("(u.email like ? escape '\\' or u.username_key like ? escape '\\')");
        params.push(likePrefix(prefix), likePrefix(prefix));
      }
      if (after !== null) {
        // Keyset: strictly after the last row of the previous page, in the
        // index's order. A user created meanwhile sorts after every older one,
        // so no user is skipped or seen twice.
        where.push("(u.created_at > ? or (u.created_at = ? and u.id > ?))");
        params.push(dates.toDb(after.createdAt), dates.toDb(after.createdAt), after.id);
      }
      const rows = await conn().execute<RawRow[]>(
        `select ${USER_COLUMNS} from users u${where.length > 0 ? ` where ${where.join(" and ")}` : ""}` +
          " order by u.created_at, u.id limit ?",
        [...params, limit],
        "all",
      );
      return rows.map(toUser);
    },

    async deactivate(id: string, at: Date) {
      const revoked = await em().transactional(async (tx) => {
        const changed = await tx.nativeUpdate(UserEntity, { id }, { isActive: false, updatedAt: at });
        if (changed === 0) return null;
        return tx.nativeUpdate(SessionEntity, { user: id, revokedAt: null }, { revokedAt: at });
      });
      if (revoked === null) return null;
      const user = await findUser(id);
      return user ? { user, revokedSessions: revoked } : null;
    },

    async reactivate(id: string, at: Date) {
      const changed = await em().nativeUpdate(UserEntity, { id }, { isActive: true, updatedAt: at });
      return changed === 0 ? null : findUser(id);
    },

    async changeRoles(id, change, at) {
      // Compare-and-set on the column: the write applies only if the roles are
      // still those the change was computed from; otherwise read and retry.
      // Works across processes (the admin command beside the service) with no lock.
      for (let attempt = 0; attempt < ROLE_CHANGE_ATTEMPTS; attempt++) {
        const current = await findUser(id);
        if (!current) return null;
        const next = [...change(current.roles)];
        const before = encodeRoles(current.roles);
        if (encodeRoles(next) === before) return { before: current.roles, user: current };
        const changed = await em().nativeUpdate(
          UserEntity,
          { id, roles: before },
          { roles: encodeRoles(next), updatedAt: at },
        );
        if (changed === 1) return { before: current.roles, user: { ...current, roles: next, updatedAt: at } };
      }
      throw new Error("the user's roles kept changing; try again");
    },

    async listOpenSessions(userId: string, now: Date) {
      const sessions = await em().find(
        SessionEntity,
        { user: userId, revokedAt: null, expiresAt: { $gt: now } },
        { orderBy: { createdAt: "desc", id: "desc" } },
      );
      return sessions.map(toSession);
    },

    revokeSessions: (userId: string, at: Date) =>
      em().nativeUpdate(SessionEntity, { user: userId, revokedAt: null, expiresAt: { $gt: at } }, { revokedAt: at }),

    async deleteUser(id: string) {
      // One statement, so one transaction: the foreign keys (on delete
      // cascade, enforced in both dialects) remove the sessions and their
      // refresh tokens with the user.
      return (await em().nativeDelete(UserEntity, { id })) > 0;
    },
  };
}
