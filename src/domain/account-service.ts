import type {
  AccountCaller,
  AccountMail,
  AccountRepository,
  MailRequestLimiter,
  MailSignal,
  OneTimePurpose,
  OneTimeTokenRecord,
} from "./account-ports.js";
import type { LoginGuard } from "./auth-service.js";
import {
  type FieldViolation,
  invalidCredentials,
  invalidToken,
  notFound,
  tokenExpired,
  userInactive,
  validationError,
} from "./errors.js";
import type { AuthEventName, AuthEvents } from "./events.js";
import { hashOneTimeToken, isOneTimeTokenShaped, newOneTimeToken } from "./one-time-tokens.js";
import { recheckPassword } from "./password-recheck.js";
import type { Clock, PasswordHasher, PasswordPolicy } from "./ports.js";
import type { RequestMeta, UserCredentials } from "./types.js";
import { normalizeEmail, normalizePassword, PASSWORD_MAX_LENGTH, throwIfAny } from "./validation.js";

export interface AccountPolicy {
  /** Lifetime of a password-reset link (1 h by default). */
  readonly resetTokenTtlSeconds: number;
  /** Lifetime of an e-mail verification link (24 h by default). */
  readonly verifyTokenTtlSeconds: number;
  /** Messages of one kind an account is sent per window at most; further requests are silently dropped. */
  readonly accountMailLimit: number;
  readonly accountMailWindowSeconds: number;
}

export interface AccountServiceDeps {
  readonly accounts: AccountRepository;
  readonly passwords: PasswordHasher;
  readonly mail: AccountMail;
  readonly clock: Clock;
  readonly policy: AccountPolicy;
  readonly events: AuthEvents;
  /** Register's password policy: new passwords pass the very check Register makes. */
  readonly passwordPolicy: PasswordPolicy;
  /** The same guard as Login: current-password checks count towards its per-account limits. */
  readonly loginGuard?: LoginGuard;
  /** Per-address limit of the calls that send mail. */
  readonly mailLimiter?: MailRequestLimiter;
  readonly mailSignal?: MailSignal;
}

/** One of the caller's sessions as ListSessions shows it. */
export interface AccountSession {
  readonly id: string;
  readonly createdAt: Date;
  /** Last login or refresh. */
  readonly lastUsedAt: Date;
  readonly expiresAt: Date;
  /** Empty when unknown. */
  readonly clientAddress: string;
  readonly userAgent: string;
  /** The session of the access token that asked. */
  readonly current: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type AccountService = ReturnType<typeof createAccountService>;

/**
 * The signed-in user's own account: password change and reset, e-mail
 * verification, their sessions, deletion. Knows nothing of protobuf, HTTP,
 * SQL or SMTP: mail is composed through `mail` and written to the outbox by
 * the repository in the same transaction as its token; a dispatcher sends it
 * later, so no call here waits on a mail server.
 *
 * Tokens are never logged, put in events or errors; events carry user ids only.
 */
export function createAccountService(deps: AccountServiceDeps) {
  const { accounts, passwords, mail, clock, policy, events } = deps;

  const emit = (
    event: AuthEventName,
    outcome: "success" | "failure" | "ignored",
    userId: string | undefined,
    extra: { readonly reason?: string; readonly sessionId?: string; readonly meta: RequestMeta },
  ) =>
    events.emit({
      event,
      outcome,
      userId,
      sessionId: extra.sessionId,
      reason: extra.reason,
      clientAddress: extra.meta.clientAddress,
    });

  /** The caller's account; a token of a deleted user is INVALID_TOKEN, of a deactivated one USER_INACTIVE. */
  async function callerAccount(caller: AccountCaller): Promise<UserCredentials> {
    const account = await accounts.findAccount(caller.userId);
    if (!account) throw invalidToken("access token");
    if (!account.user.isActive) throw userInactive();
    return account;
  }

  /** A password the caller typed to prove it is them: NFKC like Login, required, bounded. */
  function typedPassword(raw: string, field: string, out: FieldViolation[]): string {
    const password = raw.normalize("NFKC");
    if (password.length === 0) out.push({ field, description: "is required" });
    else if ([...password].length > PASSWORD_MAX_LENGTH)
      out.push({ field, description: `must be at most ${PASSWORD_MAX_LENGTH} characters` });
    return password;
  }

  /**
   * The new password's policy beyond length, once the length is acceptable:
   * the same function, with the same blocklist, as Register's, so the two
   * can never disagree.
   */
  async function checkNewPassword(
    password: string,
    account: { readonly username: string; readonly email: string },
    field: string,
    out: FieldViolation[],
  ): Promise<void> {
    out.push(...(await deps.passwordPolicy.check(password, account, field)));
  }

  /** The current password through Login's guard (password-recheck.ts); a refusal is audited. Throws INVALID_CREDENTIALS or RATE_LIMITED. */
  async function proveCurrentPassword(
    account: UserCredentials,
    password: string,
    event: AuthEventName,
    meta: RequestMeta,
  ): Promise<void> {
    const userId = account.user.id;
    let ok: boolean;
    try {
      ok = await recheckPassword(
        { passwords, guard: deps.loginGuard },
        { key: account.user.email, passwordHash: account.passwordHash },
        password,
        meta.clientAddress,
      );
    } catch (e) {
      emit(event, "failure", userId, { reason: reasonOf(e), meta });
      throw e;
    }
    if (!ok) {
      emit(event, "failure", userId, { reason: "INVALID_CREDENTIALS", meta });
      throw invalidCredentials();
    }
  }

  /** A token as received; empty is VALIDATION_ERROR (anything else not token-shaped is INVALID_TOKEN later). */
  function requiredToken(raw: string, out: FieldViolation[]): string {
    const token = raw.trim();
    if (token.length === 0) out.push({ field: "token", description: "is required" });
    return token;
  }

  /** The stored token for `purpose`, or the error the contract names: unknown or used → INVALID_TOKEN, expired → TOKEN_EXPIRED. */
  async function usableToken(token: string, purpose: OneTimePurpose, now: Date): Promise<OneTimeTokenRecord> {
    const what = purpose === "reset" ? "reset token" : "verification token";
    if (!isOneTimeTokenShaped(token)) throw invalidToken(what);
    const record = await accounts.findToken(hashOneTimeToken(token));
    if (!record || record.purpose !== purpose || record.usedAt) throw invalidToken(what);
    if (+record.expiresAt <= +now) throw tokenExpired();
    if (!record.user.isActive) throw userInactive();
    return record;
  }

  const newToken = (purpose: OneTimePurpose, now: Date) => {
    const token = newOneTimeToken();
    const ttl = purpose === "reset" ? policy.resetTokenTtlSeconds : policy.verifyTokenTtlSeconds;
    return {
      token,
      row: { tokenHash: hashOneTimeToken(token), purpose, createdAt: now, expiresAt: new Date(+now + ttl * 1000) },
    };
  };

  const allowance = (now: Date) => ({
    max: policy.accountMailLimit,
    since: new Date(+now - policy.accountMailWindowSeconds * 1000),
  });

  return {
    /**
     * ChangePassword. Wrong current password → INVALID_CREDENTIALS (counted
     * by Login's per-account limits). Revokes every other open session; the
     * caller's stays. Returns how many sessions ended.
     */
    async changePassword(
      caller: AccountCaller,
      input: { readonly currentPassword: string; readonly newPassword: string },
      meta: RequestMeta,
    ): Promise<{ readonly revokedSessions: number }> {
      const violations: FieldViolation[] = [];
      const current = typedPassword(input.currentPassword, "current_password", violations);
      const next = normalizePassword(input.newPassword);
      throwIfAny(violations);
      const account = await callerAccount(caller);
      // The new password's policy is checked before the current one: a
      // refusal here tells nothing about the current password.
      await checkNewPassword(next, account.user, "new_password", violations);
      throwIfAny(violations);
      await proveCurrentPassword(account, current, "password_changed", meta);
      const passwordHash = await passwords.hash(next);
      const revokedSessions = await accounts.changePassword({
        userId: account.user.id,
        passwordHash,
        keepSessionId: caller.sessionId,
        at: clock.now(),
      });
      emit("password_changed", "success", account.user.id, { sessionId: caller.sessionId, meta });
      return { revokedSessions };
    },

    /**
     * RequestPasswordReset (public). The same answer, and the same work,
     * for every well-formed address: a token is always made and hashed and
     * the message always rendered, then one repository call runs the same
     * statements whether or not an active account has that address (it only
     * writes when one has, and is under its silent per-account limit), and
     * the dispatcher is always woken. Only the per-address limit answers
     * differently (RATE_LIMITED), and it does not depend on the address asked for.
     */
    async requestPasswordReset(input: { readonly email: string }, meta: RequestMeta): Promise<void> {
      const violations: FieldViolation[] = [];
      const email = normalizeEmail(input.email, violations);
      throwIfAny(violations);
      await deps.mailLimiter?.checkAddress(meta.clientAddress);
      const now = clock.now();
      const { token, row } = newToken("reset", now);
      const message = mail.passwordReset({ email }, token);
      const userId = await accounts.queueForEmail(email, row, message, allowance(now));
      if (userId) deps.mailSignal?.queued(message.kind);
      deps.mailSignal?.wake();
      if (userId) emit("password_reset_requested", "success", userId, { meta });
      else emit("password_reset_requested", "ignored", undefined, { meta });
    },

    /**
     * ResetPassword (public). Sets the password, marks the e-mail verified and
     * revokes every session. Unknown or used token → INVALID_TOKEN, expired →
     * TOKEN_EXPIRED. A refused new password leaves the token usable.
     */
    async resetPassword(
      input: { readonly token: string; readonly newPassword: string },
      meta: RequestMeta,
    ): Promise<void> {
      const violations: FieldViolation[] = [];
      const token = requiredToken(input.token, violations);
      const next = normalizePassword(input.newPassword);
      throwIfAny(violations);
      await deps.mailLimiter?.checkRedemption(meta.clientAddress);
      let record: OneTimeTokenRecord;
      try {
        record = await usableToken(token, "reset", clock.now());
      } catch (e) {
        emit("password_reset", "failure", undefined, { reason: reasonOf(e), meta });
        throw e;
      }
      const userId = record.user.id;
      await checkNewPassword(next, record.user, "new_password", violations);
      throwIfAny(violations);
      const passwordHash = await passwords.hash(next);
      // Hashing took a while: the redemption re-checks use and expiry atomically.
      const won = await accounts.redeemPasswordReset({
        tokenHash: hashOneTimeToken(token),
        userId,
        passwordHash,
        at: clock.now(),
      });
      if (!won) {
        emit("password_reset", "failure", userId, { reason: "INVALID_TOKEN", meta });
        throw invalidToken("reset token");
      }
      emit("password_reset", "success", userId, { meta });
    },

    /**
     * SendVerificationEmail. A no-op when the e-mail is already verified;
     * otherwise queues a message with a 24 h link, silently capped per account.
     */
    async sendVerificationEmail(caller: AccountCaller, meta: RequestMeta): Promise<void> {
      const { user } = await callerAccount(caller);
      if (user.emailVerified) return;
      await deps.mailLimiter?.checkAddress(meta.clientAddress);
      const now = clock.now();
      const { token, row } = newToken("verify", now);
      const message = mail.emailVerification({ email: user.email, username: user.username }, token);
      const queued = await accounts.queueForUser(user.id, row, message, allowance(now));
      if (queued) deps.mailSignal?.queued(message.kind);
      deps.mailSignal?.wake();
      emit("email_verification_requested", queued ? "success" : "ignored", user.id, { meta });
    },

    /** VerifyEmail (public). Unknown or used token → INVALID_TOKEN, expired → TOKEN_EXPIRED. */
    async verifyEmail(input: { readonly token: string }, meta: RequestMeta): Promise<void> {
      const violations: FieldViolation[] = [];
      const token = requiredToken(input.token, violations);
      throwIfAny(violations);
      await deps.mailLimiter?.checkRedemption(meta.clientAddress);
      let record: OneTimeTokenRecord;
      try {
        record = await usableToken(token, "verify", clock.now());
      } catch (e) {
        emit("email_verified", "failure", undefined, { reason: reasonOf(e), meta });
        throw e;
      }
      const userId = record.user.id;
      const won = await accounts.redeemEmailVerification({
        tokenHash: hashOneTimeToken(token),
        userId,
        at: clock.now(),
      });
      if (!won) {
        emit("email_verified", "failure", userId, { reason: "INVALID_TOKEN", meta });
        throw invalidToken("verification token");
      }
      emit("email_verified", "success", userId, { meta });
    },

    /** ListSessions: the caller's open sessions, newest first, the caller's own marked `current`. */
    async listSessions(caller: AccountCaller): Promise<AccountSession[]> {
      const rows = await accounts.listOpenSessions(caller.userId, clock.now());
      return rows.map((s) => ({
        id: s.id,
        createdAt: s.createdAt,
        lastUsedAt: s.lastUsedAt ?? s.createdAt,
        expiresAt: s.expiresAt,
        clientAddress: s.clientAddress ?? "",
        userAgent: s.userAgent ?? "",
        current: s.id === caller.sessionId,
      }));
    },

    /** RevokeSession: a session that is not the caller's, or not open, is NOT_FOUND. */
    async revokeSession(caller: AccountCaller, sessionId: string, meta: RequestMeta): Promise<void> {
      const id = sessionId.trim().toLowerCase();
      if (id.length === 0) throw validationError([{ field: "session_id", description: "is required" }]);
      // Not a UUID cannot be a session (and PostgreSQL would refuse to compare it).
      if (!UUID.test(id) || !(await accounts.revokeSession(caller.userId, id, clock.now()))) {
        throw notFound("session");
      }
      emit("session_revoked", "success", caller.userId, { sessionId: id, meta });
    },

    /** RevokeOtherSessions: ends every open session but the caller's; returns how many. */
    async revokeOtherSessions(caller: AccountCaller, meta: RequestMeta): Promise<number> {
      const count = await accounts.revokeOtherSessions(caller.userId, caller.sessionId, clock.now());
      // One line for the lot; `session_id` is the one kept.
      if (count > 0) emit("session_revoked", "success", caller.userId, { sessionId: caller.sessionId, meta });
      return count;
    },

    /**
     * DeleteAccount: after the password is proven (Login's limits), the user
     * and all their rows go in one transaction; their access tokens fail at
     * once, since every token check reads the session and its user.
     */
    async deleteAccount(caller: AccountCaller, input: { readonly password: string }, meta: RequestMeta): Promise<void> {
      const violations: FieldViolation[] = [];
      const password = typedPassword(input.password, "password", violations);
      throwIfAny(violations);
      const account = await callerAccount(caller);
      await proveCurrentPassword(account, password, "account_deleted", meta);
      if (!(await accounts.deleteAccount(account.user.id))) throw invalidToken("access token");
      // The user id only: the account's e-mail and name are gone with it.
      emit("account_deleted", "success", account.user.id, { meta });
    },
  };
}

const reasonOf = (e: unknown) =>
  typeof e === "object" && e !== null && "reason" in e && typeof e.reason === "string" ? e.reason : "INTERNAL_ERROR";
