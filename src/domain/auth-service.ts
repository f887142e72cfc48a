import type { FieldViolation } from "./errors.js";
import { invalidCredentials, invalidToken, tokenExpired, tokenRevoked, userInactive } from "./errors.js";
import type { AuthEvents } from "./events.js";
import type {
  AccessTokens,
  Clock,
  PasswordHasher,
  PasswordPolicy,
  SecondFactor,
  SessionRepository,
  UserRepository,
} from "./ports.js";
import { hashRefreshToken, isRefreshTokenShaped, newRefreshToken, type SuccessorSeal } from "./refresh-tokens.js";
import { sessionDetails } from "./session-details.js";
import type { AuthResult, Caller, LoginResult, RefreshTokenRecord, RequestMeta, TokenPair, User } from "./types.js";
import {
  checkToken,
  checkUsername,
  normalizeEmail,
  normalizeLogin,
  normalizePassword,
  PASSWORD_MAX_LENGTH,
  throwIfAny,
} from "./validation.js";

export interface AuthPolicy {
  readonly refreshTtlSeconds: number;
  readonly sessionMaxLifetimeSeconds: number;
  /** Seconds after a rotation during which the old token returns the same new pair. */
  readonly refreshReuseIntervalSeconds: number;
  /**
   * Lifetime of an access token. An ended session, and an expired refresh
   * token, is kept this long, so that its tokens keep getting TOKEN_REVOKED or
   * TOKEN_EXPIRED (not INVALID_TOKEN) while its access tokens can still be
   * valid; then the purge deletes it.
   */
  readonly accessTtlSeconds: number;
}

/** Rows one purge run may touch, per kind (seals, tokens, sessions). */
const PURGE_BATCH = 1000;

/**
 * Guards Login against brute force. `check` throws RATE_LIMITED while the
 * account or address is blocked; the service reports each outcome.
 * `clientAddress` is the caller's (RequestMeta.clientAddress).
 */
export interface LoginGuard {
  /** Counts an attempt as it starts; throws RATE_LIMITED while the account or address must wait. */
  check(account: string, clientAddress: string): Promise<void>;
  failed(account: string, clientAddress: string): Promise<void>;
  succeeded(account: string): Promise<void>;
  /** The attempt ended with no verdict on the password (database down, hashing queue full): not held against the account. */
  released(account: string): Promise<void>;
  /** Throws RATE_LIMITED while the caller may not register (per-address limit). */
  checkRegistration?(clientAddress: string): Promise<void>;
}

export interface AuthServiceDeps {
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly passwords: PasswordHasher;
  readonly accessTokens: AccessTokens;
  readonly clock: Clock;
  readonly policy: AuthPolicy;
  readonly events: AuthEvents;
  readonly loginGuard?: LoginGuard;
  /** Judges every newly chosen password. */
  readonly passwordPolicy: PasswordPolicy;
  /** Seals the grace-window successor with the server's secret (see refresh-tokens.ts). */
  readonly successorSeal: SuccessorSeal;
  /** A hash of a random password, verified when the user is unknown so timing is uniform. */
  readonly dummyHash: string;
  /** Login's challenge and VerifyMfa's verdict for accounts with a confirmed second factor. */
  readonly secondFactor?: SecondFactor;
}

export interface RegisterInput {
  readonly email: string;
  readonly username: string;
  readonly password: string;
}

export interface LoginInput {
  readonly emailOrUsername: string;
  readonly password: string;
}

/** What a successor seal holds: enough to hand the same pair out again. */
interface SealedPair {
  readonly accessToken: string;
  readonly accessExpiresAt: number;
  readonly refreshToken: string;
  readonly refreshExpiresAt: number;
}

export type AuthService = ReturnType<typeof createAuthService>;

/**
 * Registration, login and the session lifecycle (RFC 9700 refresh-token
 * rotation with reuse detection). Knows nothing of protobuf, HTTP or SQL.
 */
export function createAuthService(deps: AuthServiceDeps) {
  const { users, sessions, passwords, accessTokens, clock, policy, events } = deps;

  const secondsUntil = (at: Date | number, now: Date) => Math.max(0, Math.floor((+at - +now) / 1000));

  /** Opens a session for a user who has proven `amr` (RFC 8176), and its first token pair. */
  async function openSession(user: User, meta: RequestMeta, amr: readonly string[] = PASSWORD_AMR): Promise<TokenPair> {
    const now = clock.now();
    const refreshToken = newRefreshToken();
    const sessionEnd = new Date(+now + policy.sessionMaxLifetimeSeconds * 1000);
    const refreshExpiresAt = minDate(new Date(+now + policy.refreshTtlSeconds * 1000), sessionEnd);
    const session = await sessions.create({
      userId: user.id,
      expiresAt: sessionEnd,
      refreshTokenHash: hashRefreshToken(refreshToken),
      refreshExpiresAt,
      ...sessionDetails(meta),
      amr,
    });
    const access = await accessTokens.issue({
      userId: user.id,
      sessionId: session.id,
      roles: user.roles,
      amr: session.amr,
    });
    return pair(access.token, access.expiresAt, refreshToken, refreshExpiresAt, now);
  }

  function pair(
    accessToken: string,
    accessExpiresAt: Date | number,
    refreshToken: string,
    refreshExpiresAt: Date | number,
    now: Date,
  ): TokenPair {
    return {
      accessToken,
      refreshToken,
      tokenType: "Bearer",
      expiresIn: secondsUntil(accessExpiresAt, now),
      refreshExpiresIn: secondsUntil(refreshExpiresAt, now),
    };
  }

  function parseRefreshToken(raw: string): string {
    const violations: FieldViolation[] = [];
    const token = checkToken(raw, "refresh_token", violations);
    throwIfAny(violations);
    if (!isRefreshTokenShaped(token)) throw invalidToken("refresh token");
    return token;
  }

  /** The grace window: the token was just rotated, so hand out its successor again. */
  function graceReplay(token: string, record: RefreshTokenRecord, now: Date): TokenPair | null {
    if (policy.refreshReuseIntervalSeconds <= 0 || !record.rotatedAt || !record.successor) return null;
    if (+now - +record.rotatedAt > policy.refreshReuseIntervalSeconds * 1000) return null;
    const sealed = deps.successorSeal.open(token, record.successor) as SealedPair | null;
    if (!sealed) return null;
    return pair(sealed.accessToken, sealed.accessExpiresAt, sealed.refreshToken, sealed.refreshExpiresAt, now);
  }

  async function revokeForReuse(record: RefreshTokenRecord, now: Date, meta: RequestMeta): Promise<never> {
    await sessions.revoke(record.sessionId, now);
    events.emit({
      event: "refresh_reuse_detected",
      outcome: "revoked",
      userId: record.userId,
      sessionId: record.sessionId,
      clientAddress: meta.clientAddress,
    });
    throw tokenRevoked();
  }

  async function authenticate(accessToken: string | null): Promise<Caller> {
    if (!accessToken) throw invalidToken("access token");
    const claims = await accessTokens.verify(accessToken);
    const found = await sessions.findSessionWithUser(claims.sessionId);
    if (!found || found.user.id !== claims.userId) throw invalidToken("access token");
    const { session, user } = found;
    if (!user.isActive) throw userInactive();
    if (session.revokedAt) throw tokenRevoked();
    if (+session.expiresAt <= +clock.now()) throw tokenExpired();
    return { user, sessionId: session.id };
  }

  return {
    async register(input: RegisterInput, meta: RequestMeta): Promise<AuthResult> {
      const violations: FieldViolation[] = [];
      const email = normalizeEmail(input.email, violations);
      const username = checkUsername(input.username, violations);
      // Counted before the password is judged, valid request or not: the
      // strength estimate costs CPU, so the limits must come first.
      await deps.loginGuard?.checkRegistration?.(meta.clientAddress);
      const password = normalizePassword(input.password);
      violations.push(...(await deps.passwordPolicy.check(password, { username, email })));
      throwIfAny(violations);
      // Hashing happens before, and outside, any database work so that
      // registrations hash in parallel instead of holding a connection.
      const passwordHash = await passwords.hash(password);
      let user: User;
      try {
        user = await users.create({ email, username, passwordHash });
      } catch (e) {
        events.emit({ event: "register", outcome: "failure", reason: reasonOf(e), clientAddress: meta.clientAddress });
        throw e;
      }
      const tokens = await openSession(user, meta);
      events.emit({ event: "register", outcome: "success", userId: user.id, clientAddress: meta.clientAddress });
      return { user, tokens };
    },

    /**
     * With a confirmed second factor, the right password yields a challenge
     * (`{ mfa }`) and no session. The factor's flag comes with the same read
     * as the password hash and is looked at only after the verdict, so
     * nothing before it differs between accounts with and without one.
     */
    async login(input: LoginInput, meta: RequestMeta): Promise<LoginResult> {
      const violations: FieldViolation[] = [];
      const login = normalizeLogin(input.emailOrUsername, violations);
      // Not checked for control characters: a password never reaches the
      // database, and one chosen before that rule must still log in.
      const password = normalizePassword(input.password);
      if (password.length === 0) violations.push({ field: "password", description: "is required" });
      else if ([...password].length > PASSWORD_MAX_LENGTH)
        violations.push({ field: "password", description: `must be at most ${PASSWORD_MAX_LENGTH} characters` });
      throwIfAny(violations);

      try {
        await deps.loginGuard?.check(login, meta.clientAddress);
      } catch (e) {
        events.emit({ event: "login", outcome: "failure", reason: reasonOf(e), clientAddress: meta.clientAddress });
        throw e;
      }
      let found: Awaited<ReturnType<typeof users.findByLogin>>;
      let ok: boolean;
      try {
        found = await users.findByLogin(login);
        // Unknown users cost one verification too, so timing does not tell them apart.
        ok = await passwords.verify(password, found?.passwordHash ?? deps.dummyHash);
      } catch (e) {
        await deps.loginGuard?.released(login).catch(() => undefined);
        throw e;
      }
      if (!found || !ok) {
        await deps.loginGuard?.failed(login, meta.clientAddress);
        events.emit({
          event: "login",
          outcome: "failure",
          userId: found?.user.id,
          reason: "INVALID_CREDENTIALS",
          clientAddress: meta.clientAddress,
        });
        throw invalidCredentials();
      }
      const challenged = found.user.mfaEnabled;
      // The password alone does not complete a login with a second factor:
      // the attempt is released rather than cleared, so that wrong codes
      // keep counting toward the same per-account limit.
      if (challenged) await deps.loginGuard?.released(login);
      else await deps.loginGuard?.succeeded(login);
      if (!found.user.isActive) {
        events.emit({
          event: "login",
          outcome: "failure",
          userId: found.user.id,
          reason: "USER_INACTIVE",
          clientAddress: meta.clientAddress,
        });
        throw userInactive();
      }
      if (passwords.needsRehash(found.passwordHash)) {
        await users.updatePasswordHash(found.user.id, await passwords.hash(password));
      }
      if (challenged) {
        // Never a session without the factor, even if it were not wired.
        if (!deps.secondFactor) throw new Error("account has a second factor, but none is configured");
        const mfa = await deps.secondFactor.startChallenge(found.user.id, { accountKey: login });
        events.emit({
          event: "mfa_challenge_issued",
          outcome: "success",
          userId: found.user.id,
          clientAddress: meta.clientAddress,
        });
        return { mfa };
      }
      const user = await users.recordLogin(found.user.id, clock.now());
      const tokens = await openSession(user, meta);
      events.emit({ event: "login", outcome: "success", userId: user.id, clientAddress: meta.clientAddress });
      return { user, tokens };
    },

    /**
     * Completes a login that answered with a challenge: a right code opens
     * the session with the amr the challenge proved (`["pwd","otp"]` or
     * `["pwd","mfa"]`). The challenge's errors come first (see SecondFactor).
     */
    async verifyMfa(challengeToken: string, code: string, meta: RequestMeta): Promise<AuthResult> {
      if (!deps.secondFactor) throw invalidToken("challenge token");
      const verified = await deps.secondFactor.verifyChallenge(challengeToken, code, meta);
      const found = await users.findById(verified.userId);
      // Deleted meanwhile (its challenges go with it, so this is a race).
      if (!found) throw invalidToken("challenge token");
      if (!found.isActive) {
        events.emit({
          event: "login",
          outcome: "failure",
          userId: found.id,
          reason: "USER_INACTIVE",
          clientAddress: meta.clientAddress,
        });
        throw userInactive();
      }
      const user = await users.recordLogin(found.id, clock.now());
      const tokens = await openSession(user, meta, verified.amr);
      events.emit({ event: "login", outcome: "success", userId: user.id, clientAddress: meta.clientAddress });
      return { user, tokens };
    },

    async refresh(rawToken: string, meta: RequestMeta): Promise<AuthResult> {
      const token = parseRefreshToken(rawToken);
      const tokenHash = hashRefreshToken(token);
      const now = clock.now();
      let record = await sessions.findRefreshToken(tokenHash);
      if (!record) throw invalidToken("refresh token");
      // A deactivated account is reported as such, even though deactivation
      // also revoked its sessions.
      const user = record.user;
      if (!user.isActive) throw userInactive();
      if (record.sessionRevokedAt) throw tokenRevoked();
      if (record.rotatedAt) {
        const replay = graceReplay(token, record, now);
        if (!replay) return revokeForReuse(record, now, meta);
        events.emit({
          event: "refresh",
          outcome: "replayed",
          userId: user.id,
          sessionId: record.sessionId,
          clientAddress: meta.clientAddress,
        });
        return { user, tokens: replay };
      }
      if (+record.expiresAt <= +now || +record.sessionExpiresAt <= +now) throw tokenExpired();

      const next = newRefreshToken();
      const nextExpiresAt = minDate(new Date(+now + policy.refreshTtlSeconds * 1000), record.sessionExpiresAt);
      // The user (and so the roles) was read with the token just now: a role
      // change by an admin reaches the token here, at the next refresh.
      const access = await accessTokens.issue({
        userId: user.id,
        sessionId: record.sessionId,
        roles: user.roles,
        // The session keeps the methods it was opened with.
        amr: record.sessionAmr,
      });
      const sealed: SealedPair = {
        accessToken: access.token,
        accessExpiresAt: +access.expiresAt,
        refreshToken: next,
        refreshExpiresAt: +nextExpiresAt,
      };
      const graceMs = policy.refreshReuseIntervalSeconds * 1000;
      const won = await sessions.rotate({
        oldTokenHash: tokenHash,
        sessionId: record.sessionId,
        newTokenHash: hashRefreshToken(next),
        newExpiresAt: nextExpiresAt,
        successor: graceMs > 0 ? deps.successorSeal.seal(token, sealed) : null,
        at: now,
        // This token was issued when its predecessor was rotated: if that is past the window, the
        // predecessor's seal (and any older one of the session) can go now. Otherwise the purge takes it.
        sealsRotatedBefore: +now - +record.createdAt > graceMs ? new Date(+now - graceMs) : null,
      });
      if (!won) {
        // A concurrent call rotated the token first: same rules as a replay.
        record = await sessions.findRefreshToken(tokenHash);
        if (!record || record.sessionRevokedAt) throw tokenRevoked();
        const replay = graceReplay(token, record, clock.now());
        if (!replay) return revokeForReuse(record, now, meta);
        events.emit({
          event: "refresh",
          outcome: "replayed",
          userId: user.id,
          sessionId: record.sessionId,
          clientAddress: meta.clientAddress,
        });
        return { user, tokens: replay };
      }
      events.emit({
        event: "refresh",
        outcome: "success",
        userId: user.id,
        sessionId: record.sessionId,
        clientAddress: meta.clientAddress,
      });
      return { user, tokens: pair(access.token, access.expiresAt, next, nextExpiresAt, now) };
    },

    async logout(rawToken: string, meta: RequestMeta): Promise<void> {
      const token = parseRefreshToken(rawToken);
      const record = await sessions.findRefreshToken(hashRefreshToken(token));
      if (!record) throw invalidToken("refresh token");
      // Idempotent: logging out of an ended session succeeds quietly.
      if (!record.sessionRevokedAt) await sessions.revoke(record.sessionId, clock.now());
      events.emit({
        event: "logout",
        outcome: "success",
        userId: record.userId,
        sessionId: record.sessionId,
        clientAddress: meta.clientAddress,
      });
    },

    /** Resolves the user of an access token, rejecting tokens of ended sessions. */
    async currentUser(accessToken: string | null): Promise<User> {
      return (await authenticate(accessToken)).user;
    },

    /**
     * One bounded run of the storage purge (the app schedules it): clears the
     * seals whose grace window has passed, and deletes refresh tokens and
     * sessions that ended longer ago than an access token lives. A rotated
     * token is kept until it expires, so that its reuse is still detected
     * (RFC 9700 §4.14.2).
     */
    async purgeSessions() {
      const now = +clock.now();
      const ended = new Date(now - policy.accessTtlSeconds * 1000);
      return sessions.purge({
        sealsRotatedBefore: new Date(now - policy.refreshReuseIntervalSeconds * 1000),
        tokensExpiredBefore: ended,
        sessionsEndedBefore: ended,
        limit: PURGE_BATCH,
      });
    },

    /**
     * The caller an access token stands for (its user and session), with
     * the same checks as currentUser: the one token check of every call
     * that needs a signed-in user.
     */
    authenticate,

    /** Deactivates or reactivates an account; deactivation ends all its sessions. */
    async setActive(userId: string, active: boolean): Promise<void> {
      await users.setActive(userId, active);
      if (!active) await sessions.revokeAllForUser(userId, clock.now());
    },
  };
}

/** RFC 8176 `amr` of a password-only sign-in. */
const PASSWORD_AMR: readonly string[] = ["pwd"];

const minDate = (a: Date, b: Date) => (+a <= +b ? a : b);

const reasonOf = (e: unknown) =>
  typeof e === "object" && e !== null && "reason" in e && typeof e.reason === "string" ? e.reason : "INTERNAL_ERROR";
