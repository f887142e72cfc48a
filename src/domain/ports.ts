import type { AccessClaims, RefreshTokenRecord, Session, User, UserCredentials } from "./types.js";

/** Interfaces the domain needs; src/db, src/tokens and src/passwords implement them. */

export interface NewUser {
  readonly email: string;
  readonly username: string;
  readonly passwordHash: string;
}

export interface UserRepository {
  /** Inserts a user; throws USER_ALREADY_EXISTS when the e-mail or username is taken. */
  create(user: NewUser): Promise<User>;
  /** Looks a user up by lower-cased e-mail or username. */
  findByLogin(emailOrUsername: string): Promise<UserCredentials | null>;
  /** Stamps `last_login_at` and returns the updated user. */
  recordLogin(id: string, at: Date): Promise<User>;
  updatePasswordHash(id: string, passwordHash: string): Promise<void>;
  setActive(id: string, active: boolean): Promise<void>;
}

export interface NewSession {
  readonly userId: string;
  readonly expiresAt: Date;
  readonly refreshTokenHash: string;
  readonly refreshExpiresAt: Date;
}

export interface Rotation {
  readonly oldTokenHash: string;
  /** The session both tokens belong to (known from the lookup; saves a query). */
  readonly sessionId: string;
  readonly newTokenHash: string;
  readonly newExpiresAt: Date;
  /** The new pair sealed for the grace window (see domain/refresh-tokens.ts); null when there is none. */
  readonly successor: string | null;
  readonly at: Date;
  /**
   * Seals of the session's tokens rotated before this instant are past their
   * window: cleared on the way. Null when none can be (the predecessor was
   * rotated within the window), which spares a rapid refresher the write.
   */
  readonly sealsRotatedBefore: Date | null;
}

/** What a purge run removes; each kind is bounded by `limit` rows per run. */
export interface PurgeCutoffs {
  /** Clear the seals of tokens rotated before this instant (their grace window has passed). */
  readonly sealsRotatedBefore: Date;
  /** Delete tokens that expired before this instant, rotated or not. */
  readonly tokensExpiredBefore: Date;
  /** Delete sessions, with all their tokens, that were revoked or expired before this instant. */
  readonly sessionsEndedBefore: Date;
  readonly limit: number;
}

export interface PurgeCounts {
  readonly sealsCleared: number;
  readonly tokensDeleted: number;
  readonly sessionsDeleted: number;
}

export interface SessionRepository {
  /** Creates a session with its first refresh token, atomically. */
  create(session: NewSession): Promise<Session>;
  /** A refresh token with its session and user, in one read (Refresh's hot path). */
  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | null>;
  /**
   * Marks the old token rotated and stores the new one, atomically and only if
   * the old token was still current. Returns false when another call won.
   */
  rotate(rotation: Rotation): Promise<boolean>;
  /** A session with its user, in one read (GetCurrentUser's hot path). */
  findSessionWithUser(id: string): Promise<{ session: Session; user: User } | null>;
  /** Revokes a session and with it every refresh token of the family; clears its seals. Idempotent. */
  revoke(sessionId: string, at: Date): Promise<void>;
  /** Revokes every session of a user (deactivation); clears their seals. */
  revokeAllForUser(userId: string, at: Date): Promise<void>;
  /** One bounded purge run: expired seals, expired tokens, ended sessions. */
  purge(cutoffs: PurgeCutoffs): Promise<PurgeCounts>;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
  /** True when the hash was made with other parameters than the current ones. */
  needsRehash(hash: string): boolean;
}

export interface IssuedAccessToken {
  readonly token: string;
  readonly expiresAt: Date;
}

export interface AccessTokens {
  issue(claims: { userId: string; sessionId: string }): Promise<IssuedAccessToken>;
  /** Verifies signature, type, issuer, audience and expiry; throws INVALID_TOKEN or TOKEN_EXPIRED. */
  verify(token: string): Promise<AccessClaims>;
}

/** Passwords too common to allow (NIST SP 800-63B §3.1.1.2). Matching ignores case. */
export interface PasswordBlocklist {
  has(password: string): boolean;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
