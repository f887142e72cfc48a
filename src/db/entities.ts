import { randomUUID } from "node:crypto";
import { defineEntity, p } from "@mikro-orm/core";

/**
 * The schema, in MikroORM v7's recommended defineEntity style. Changing it
 * means adding a migration for each dialect (npm run migration:create).
 */

export const UserSchema = defineEntity({
  name: "User",
  tableName: "users",
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
    expiresAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
    // RFC 8176 methods the session was opened with, a JSON array (see amr-column.ts);
    // refreshes keep it. Sessions from before the second factor were password-only.
    amr: p.string().length(64).default('["pwd"]'),
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
    expiresAt: p.datetime(),
    rotatedAt: p.datetime().nullable(),
    // The successor pair sealed for the grace window (see domain/refresh-tokens.ts).
    successor: p.text().nullable(),
  },
});
export class RefreshTokenEntity extends RefreshTokenSchema.class {}
RefreshTokenSchema.setClass(RefreshTokenEntity);

/**
 * A user's TOTP factor: pending while confirmedAt is null. The secret is
 * AES-256-GCM ciphertext under MFA_ENCRYPTION_KEYS (which the database never
 * holds), bound to the user id; keyId names the key.
 */
export const TotpFactorSchema = defineEntity({
  name: "TotpFactor",
  tableName: "mfa_totp_factors",
  properties: {
    user: p.oneToOne(UserSchema).owner().primary().deleteRule("cascade"),
    secretCiphertext: p.string().length(128),
    keyId: p.string().length(32),
    confirmedAt: p.datetime().nullable(),
    // The replay rule: codes of this step or an earlier one are refused.
    lastUsedStep: p.integer().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class TotpFactorEntity extends TotpFactorSchema.class {}
TotpFactorSchema.setClass(TotpFactorEntity);

/** One recovery code: only its keyed hash (see src/mfa/recovery-code-hasher.ts). */
export const RecoveryCodeSchema = defineEntity({
  name: "RecoveryCode",
  tableName: "mfa_recovery_codes",
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    user: p.manyToOne(UserSchema).deleteRule("cascade").index(),
    codeHash: p.string().length(43),
    usedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class RecoveryCodeEntity extends RecoveryCodeSchema.class {}
RecoveryCodeSchema.setClass(RecoveryCodeEntity);

/** A login waiting for its second factor. Kept in the database so any replica can answer VerifyMfa. */
export const MfaChallengeSchema = defineEntity({
  name: "MfaChallenge",
  tableName: "mfa_challenges",
  properties: {
    // SHA-256 of the challenge token, base64url; the token itself is never stored.
    tokenHash: p.string().length(43).primary(),
    user: p.manyToOne(UserSchema).deleteRule("cascade").index(),
    // The rate-limit key of the login that opened it (the identifier as typed, normalised).
    accountKey: p.text(),
    // Factors already proven (JSON array), e.g. ["pwd"].
    amr: p.string().length(64),
    expiresAt: p.datetime().index(),
    failedAttempts: p.integer().default(0),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class MfaChallengeEntity extends MfaChallengeSchema.class {}
MfaChallengeSchema.setClass(MfaChallengeEntity);

export const entities = [
  UserEntity,
  SessionEntity,
  RefreshTokenEntity,
  TotpFactorEntity,
  RecoveryCodeEntity,
  MfaChallengeEntity,
];
