import { UniqueConstraintViolationException } from "@mikro-orm/core";
import { userAlreadyExists } from "../domain/errors.js";
import type { NewSession, NewUser, Rotation, SessionRepository, UserRepository } from "../domain/ports.js";
import type { RefreshTokenRecord, Session, User } from "../domain/types.js";
import { RefreshTokenEntity, SessionEntity, UserEntity } from "./entities.js";
import type { Orm } from "./orm.js";
import { createRawSql } from "./raw-rows.js";
import { decodeRoles } from "./user-rows.js";

/**
 * Repositories over MikroORM. Each call works in its own forked
 * EntityManager, so no identity map outlives a call and concurrent calls
 * never share state.
 */

/**
 * The hot read paths (GetCurrentUser, Refresh) skip findOne and the query
 * builder: see raw-rows.ts.
 */
type UserRow = Pick<
  UserEntity,
  "id" | "email" | "username" | "isActive" | "createdAt" | "updatedAt" | "lastLoginAt" | "roles"
>;

const toUser = (u: UserRow): User => ({
  id: u.id,
  email: u.email,
  username: u.username,
  isActive: u.isActive,
  createdAt: u.createdAt,
  updatedAt: u.updatedAt,
  lastLoginAt: u.lastLoginAt ?? null,
  roles: decodeRoles(u.roles),
});

const toSession = (s: SessionEntity): Session => ({
  id: s.id,
  userId: s.user.id,
  createdAt: s.createdAt,
  expiresAt: s.expiresAt,
  revokedAt: s.revokedAt ?? null,
});

export function createUserRepository(orm: Orm): UserRepository {
  const em = () => orm.em.fork();
  return {
    async create(user: NewUser) {
      const fork = em();
      const entity = fork.create(UserEntity, {
        email: user.email,
        username: user.username,
        usernameKey: user.username.toLowerCase(),
        passwordHash: user.passwordHash,
      });
      try {
        await fork.flush();
      } catch (e) {
        // The unique indexes decide races between concurrent registrations.
        if (e instanceof UniqueConstraintViolationException) throw userAlreadyExists();
        throw e;
      }
      return toUser(entity);
    },

    async findByLogin(login: string) {
      const key = login.toLowerCase();
      const found = await em().findOne(UserEntity, key.includes("@") ? { email: key } : { usernameKey: key }, {
        populate: ["passwordHash"],
      });
      return found ? { user: toUser(found), passwordHash: found.passwordHash } : null;
    },

    async recordLogin(id: string, at: Date) {
      const fork = em();
      const user = await fork.findOneOrFail(UserEntity, { id });
      user.lastLoginAt = at;
      await fork.flush();
      return toUser(user);
    },

    async updatePasswordHash(id: string, passwordHash: string) {
      await em().nativeUpdate(UserEntity, { id }, { passwordHash, updatedAt: new Date() });
    },

    async setActive(id: string, active: boolean) {
      await em().nativeUpdate(UserEntity, { id }, { isActive: active, updatedAt: new Date() });
    },
  };
}

export function createSessionRepository(orm: Orm): SessionRepository {
  const em = () => orm.em.fork();
  const raw = createRawSql(orm);
  return {
    async create(s: NewSession) {
      const fork = em();
      const session = fork.create(SessionEntity, {
        user: fork.getReference(UserEntity, s.userId),
        expiresAt: s.expiresAt,
      });
      fork.create(RefreshTokenEntity, {
        tokenHash: s.refreshTokenHash,
        session,
        expiresAt: s.refreshExpiresAt,
      });
      await fork.flush(); // one transaction for both rows
      return toSession(session);
    },

    findRefreshToken: (tokenHash: string): Promise<RefreshTokenRecord | null> => raw.refreshToken(tokenHash),

    rotate: (r: Rotation) => raw.rotate(r),

    findSessionWithUser: (id: string) => raw.sessionWithUser(id),

    async revoke(sessionId: string, at: Date) {
      await em().nativeUpdate(SessionEntity, { id: sessionId, revokedAt: null }, { revokedAt: at });
    },

    async revokeAllForUser(userId: string, at: Date) {
      await em().nativeUpdate(SessionEntity, { user: userId, revokedAt: null }, { revokedAt: at });
    },
  };
}
