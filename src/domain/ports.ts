import type { FieldViolation } from "./errors.js";
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
  /** Who opened it, for the user's session list (sessionDetails in session-details.ts). */
  readonly clientAddress: string;
  readonly userAgent: string;
  /** RFC 8176 methods the session is opened with; `["pwd"]` when absent. */
  readonly amr?: readonly string[];
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
   * the old token was still current, and stamps the session's last use.
   * Returns false when another call won.
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

/** Whose password is being chosen: it must not be made of their own names. */
export interface PasswordOwner {
  readonly username: string;
  readonly email: string;
}

/**
 * THE rule for a newly chosen password, wherever one is chosen (Register;
 * password change and reset use the same). Takes the NFKC-normalised
 * password and returns the violations for `field` (default "password"),
 * none when the password is acceptable. Never throws for a weak password;
 * rejects only when the check itself cannot run (RATE_LIMITED,
 * SERVICE_UNAVAILABLE).
 */
export interface PasswordPolicy {
  check(password: string, owner: PasswordOwner, field?: string): Promise<FieldViolation[]>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
