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
  /** The new pair sealed for the grace window (see session-service). */
  readonly successor: string;
  readonly at: Date;
}

export interface SessionRepository {
  /** Creates a session with its first refresh token, atomically. */
  create(session: NewSession): Promise<Session>;
  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | null>;
  /**
   * Marks the old token rotated and stores the new one, atomically and only if
   * the old token was still current. Returns false when another call won.
   */
  rotate(rotation: Rotation): Promise<boolean>;
  /** A session with its user, in one read (GetCurrentUser's hot path). */
  findSessionWithUser(id: string): Promise<{ session: Session; user: User } | null>;
  /** Revokes a session and with it every refresh token of the family. Idempotent. */
  revoke(sessionId: string, at: Date): Promise<void>;
  /** Revokes every session of a user (deactivation). */
  revokeAllForUser(userId: string, at: Date): Promise<void>;
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

export interface AccessTokenSubject {
  readonly userId: string;
  readonly sessionId: string;
  /** The user's roles now; the token carries them until it expires. */
  readonly roles: readonly string[];
  /** RFC 8176 authentication methods of the session, e.g. `["pwd"]`. */
  readonly amr: readonly string[];
}

export interface AccessTokens {
  issue(subject: AccessTokenSubject): Promise<IssuedAccessToken>;
  /** Verifies signature, type, issuer, audience and expiry; throws INVALID_TOKEN or TOKEN_EXPIRED. */
  verify(token: string): Promise<AccessClaims>;
}

/** Passwords too common to allow (NIST SP 800-63B §3.1.1.2). Matching ignores case. */
export interface PasswordBlocklist {
  has(password: string): boolean;
}

/** Where a page of users starts: just after this user in (created_at, id) order. */
export interface UserCursor {
  readonly createdAt: Date;
  readonly id: string;
}

export interface UserListQuery {
  /** Rows to return at most. */
  readonly limit: number;
  /** Start after this user; null for the first page. */
  readonly after: UserCursor | null;
  /** Lower-case prefix of the e-mail or the username; null for all users. */
  readonly prefix: string | null;
}

/** What AdminService and the admin command read and change. Unknown ids give null (or 0/false), never an error. */
export interface AdminRepository {
  findUser(id: string): Promise<User | null>;
  /** By e-mail (when it contains "@") or username, case-insensitively. */
  findUserByLogin(emailOrUsername: string): Promise<User | null>;
  /** Users in (created_at, id) order: a stable order in which new users come last. */
  listUsers(query: UserListQuery): Promise<User[]>;
  /** Sets is_active false and revokes every open session, in one transaction. */
  deactivate(id: string, at: Date): Promise<{ readonly user: User; readonly revokedSessions: number } | null>;
  reactivate(id: string, at: Date): Promise<User | null>;
  /**
   * Replaces the user's roles by `change(current)`, atomically against
   * concurrent changes (another admin, the admin command in another process).
   */
  changeRoles(
    id: string,
    change: (current: readonly string[]) => readonly string[],
    at: Date,
  ): Promise<{ readonly before: readonly string[]; readonly user: User } | null>;
  /** Sessions neither revoked nor expired at `now`, newest first. */
  listOpenSessions(userId: string, now: Date): Promise<Session[]>;
  /** Revokes the user's open sessions; returns how many. */
  revokeSessions(userId: string, at: Date): Promise<number>;
  /** Deletes the user with everything of theirs (one statement; the rest cascades). */
  deleteUser(id: string): Promise<boolean>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
