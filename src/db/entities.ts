import { randomUUID } from "node:crypto";
import { defineEntity, p } from "@mikro-orm/core";

/**
 * The schema, in MikroORM v7's recommended defineEntity style. Changing it
 * means adding a migration for each dialect (npm run migration:create).
 */

export const UserSchema = defineEntity({
  name: "User",
  tableName: "users",
  // AdminService.ListUsers pages in this order (keyset paging, see user-repository.ts).
  indexes: [{ name: "users_created_at_id_index", properties: ["createdAt", "id"] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    // Stored trimmed and lower-cased, so the unique index is case-insensitive.
    email: p.string().length(254).unique(),
    username: p.string().length(32),
    // Lower-cased copy that carries the case-insensitive unique index.
    usernameKey: p.string().length(32).unique(),
    passwordHash: p.string().length(100).hidden().lazy(),
    isActive: p.boolean().default(true),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    lastLoginAt: p.datetime().nullable(),
    // Role names, sorted, separated by single spaces ("" = none). A column and
    // not a table: the token checks read it with the session and the user in
    // the one query they make per call, with no join or aggregate.
    roles: p.text().default(""),
  },
});
export class UserEntity extends UserSchema.class {}
UserSchema.setClass(UserEntity);

/** A session is one token family: every refresh token a login leads to. */
export const SessionSchema = defineEntity({
  name: "Session",
  tableName: "sessions",
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    user: p.manyToOne(UserSchema).deleteRule("cascade").index(),
    createdAt: p.datetime().onCreate(() => new Date()),
    // Absolute end of the session; rotation never moves it.
    expiresAt: p.datetime().index(),
    // Indexed, as expiresAt, for the purge of ended sessions.
    revokedAt: p.datetime().nullable().index(),
  },
});
export class SessionEntity extends SessionSchema.class {}
SessionSchema.setClass(SessionEntity);

export const RefreshTokenSchema = defineEntity({
  name: "RefreshToken",
  tableName: "refresh_tokens",
  properties: {
    // SHA-256 of the token, base64url; the token itself is never stored.
    tokenHash: p.string().length(43).primary(),
    session: p.manyToOne(SessionSchema).deleteRule("cascade").index(),
    createdAt: p.datetime().onCreate(() => new Date()),
    // Indexed for the purge of expired tokens.
    expiresAt: p.datetime().index(),
    rotatedAt: p.datetime().nullable(),
    // The successor pair sealed for the grace window (see domain/refresh-tokens.ts);
    // cleared once the window has passed.
    successor: p.text().nullable(),
  },
  indexes: [
    // The few rows still holding a seal, per session: what a rotation and the purge clear.
    {
      name: "refresh_tokens_sealed_index",
      properties: ["session", "rotatedAt"],
      where: { successor: { $ne: null } },
    },
  ],
});
export class RefreshTokenEntity extends RefreshTokenSchema.class {}
RefreshTokenSchema.setClass(RefreshTokenEntity);

export const entities = [UserEntity, SessionEntity, RefreshTokenEntity];
