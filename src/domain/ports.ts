import type {
  AccessClaims,
  MfaChallengeOffer,
  RefreshTokenRecord,
  RequestMeta,
  Session,
  User,
  UserCredentials,
} from "./types.js";

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
  /** A user by id (VerifyMfa: the challenge names the user). */
  findById(id: string): Promise<User | null>;
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
  /** RFC 8176 methods the session is opened with; `["pwd"]` when absent. */
  readonly amr?: readonly string[];
}

export interface Rotation {
  readonly oldTokenHash: string;
  /** The session both tokens belong to (known from the lookup; saves a query). */
  readonly sessionId: string;
  readonly newTokenHash: string;
  readonly newExpiresAt: Date;
  /** The new pair, sealed under the old token for the grace window (sealSuccessor in refresh-tokens.ts). */
  readonly successor: string;
  readonly at: Date;
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
  /** Revokes a session and with it every refresh token of the family. Idempotent. */
  revoke(sessionId: string, at: Date): Promise<void>;
  /** Revokes every session of a user (deactivation). */
  revokeAllForUser(userId: string, at: Date): Promise<void>;
}

/**
 * The second factor as Login and VerifyMfa use it (MfaService implements
 * it): a challenge once the password is proven, and its verdict.
 */
export interface SecondFactor {
  /** `accountKey`: the login guard's key of the attempt, under which wrong codes count too. */
  startChallenge(userId: string, context: { readonly accountKey: string }): Promise<MfaChallengeOffer>;
  /**
   * Consumes the challenge when the code is right; throws INVALID_TOKEN,
   * TOKEN_EXPIRED, RATE_LIMITED or INVALID_CREDENTIALS otherwise.
   */
  verifyChallenge(
    challengeToken: string,
    code: string,
    meta: RequestMeta,
  ): Promise<{ readonly userId: string; readonly amr: readonly string[] }>;
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
  /** `amr` (RFC 8176) defaults to `["pwd"]`. */
  issue(claims: { userId: string; sessionId: string; amr?: readonly string[] }): Promise<IssuedAccessToken>;
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
