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
    // Set by a password reset or a verification link: both prove the mailbox.
    emailVerified: p.boolean().default(false),
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
    // Last login or refresh; null until the first refresh (then created_at is meant).
    lastUsedAt: p.datetime().nullable(),
    // What the user sees in their session list; null for sessions made before these existed.
    clientAddress: p.string().length(64).nullable(),
    userAgent: p.string().length(512).nullable(),
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

/**
 * One-time links sent by e-mail: password reset and e-mail verification.
 * Only the SHA-256 of the token is stored; `used_at` makes it single use
 * (set by one conditional update, so two redemptions cannot both win).
 * Indexed by expiry for housekeeping.
 */
export const AccountTokenSchema = defineEntity({
  name: "AccountToken",
  tableName: "account_tokens",
  properties: {
    tokenHash: p.string().length(43).primary(),
    // Null for a reset requested for an address with no active account (or
    // one over its allowance): the row is written either way, so both
    // requests do the same work (see account-repository.ts). It matches no
    // user, so it never works; housekeeping deletes it once expired.
    user: p.manyToOne(UserSchema).nullable().deleteRule("cascade").index(),
    // "reset" or "verify": a token only works for the purpose it was made for.
    purpose: p.string().length(16),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime().index(),
    usedAt: p.datetime().nullable(),
  },
});
export class AccountTokenEntity extends AccountTokenSchema.class {}
AccountTokenSchema.setClass(AccountTokenEntity);

/**
 * The mail outbox: a message is a row written in the same transaction as the
 * token it carries, and the dispatcher (src/mail/dispatcher.ts) sends it
 * later. Rows of a deleted user go with the user.
 */
export const MailOutboxSchema = defineEntity({
  name: "MailOutbox",
  tableName: "mail_outbox",
  indexes: [{ properties: ["status", "nextAttemptAt"] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    recipient: p.string().length(254),
    subject: p.string().length(255),
    textBody: p.text(),
    htmlBody: p.text(),
    // Template name ("password_reset", "email_verification"): metrics and logs say this, never the body.
    kind: p.string().length(32),
    user: p.manyToOne(UserSchema).nullable().deleteRule("cascade").index(),
    // queued → sending (claimed by one dispatcher) → sent | failed; back to queued to retry.
    status: p.string().length(16),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime(),
    // A claim ends at claimed_until: a replica that died mid-send gives the message up then.
    claimedUntil: p.datetime().nullable(),
    claimedBy: p.string().length(64).nullable(),
    // What went wrong last: an SMTP code and the error's first line, never credentials or the body.
    lastError: p.string().length(500).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    sentAt: p.datetime().nullable(),
  },
});
export class MailOutboxEntity extends MailOutboxSchema.class {}
MailOutboxSchema.setClass(MailOutboxEntity);

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
  AccountTokenEntity,
  MailOutboxEntity,
  TotpFactorEntity,
  RecoveryCodeEntity,
  MfaChallengeEntity,
];
