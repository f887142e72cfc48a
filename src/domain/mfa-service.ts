import type { LoginGuard } from "./auth-service.js";
import {
  type FieldViolation,
  failedPrecondition,
  invalidCredentials,
  invalidToken,
  notFound,
  tokenExpired,
  validationError,
} from "./errors.js";
import type { AuthEvents } from "./events.js";
import type {
  MfaAccount,
  MfaAccounts,
  MfaChallengeRepository,
  MfaFactorRepository,
  RecoveryCodeHasher,
  SecretSealer,
  SessionRevoker,
  TotpAlgorithm,
  TotpFactor,
} from "./mfa-ports.js";
import {
  AMR_PASSWORD,
  acceptableStep,
  amrOfMethod,
  hashChallengeToken,
  isChallengeTokenShaped,
  MAX_CHALLENGE_ATTEMPTS,
  type MfaMethod,
  newChallengeToken,
  newRecoveryCodes,
  normalizeRecoveryCode,
  normalizeTotpCode,
} from "./mfa-rules.js";
import { recheckPassword } from "./password-recheck.js";
import type { Clock, PasswordHasher } from "./ports.js";
import type { RequestMeta } from "./types.js";
import { checkToken, PASSWORD_MAX_LENGTH, throwIfAny } from "./validation.js";

export interface MfaPolicy {
  /** Lifetime of a login challenge (MFA_CHALLENGE_TTL, at most 300 s). */
  readonly challengeTtlSeconds: number;
}

export interface MfaServiceDeps {
  readonly factors: MfaFactorRepository;
  readonly challenges: MfaChallengeRepository;
  readonly accounts: MfaAccounts;
  readonly sessions: SessionRevoker;
  readonly passwords: PasswordHasher;
  readonly totp: TotpAlgorithm;
  readonly sealer: SecretSealer;
  readonly recoveryCodes: RecoveryCodeHasher;
  readonly clock: Clock;
  readonly events: AuthEvents;
  /** Login's guard: challenge attempts count toward the same per-account limits. */
  readonly loginGuard?: LoginGuard;
  readonly policy: MfaPolicy;
}

export interface TotpEnrolment {
  /** Base32, for typing into an app by hand. */
  readonly secret: string;
  readonly otpauthUri: string;
}

export interface TotpActivation {
  /** Shown this once; only keyed hashes are kept. */
  readonly recoveryCodes: readonly string[];
  /** Sessions other than the caller's that were ended (opened without the factor). */
  readonly revokedSessions: number;
}

export interface ChallengeContext {
  /**
   * The key Login's guard counted the password attempt under (the
   * normalised identifier the user typed); wrong codes count there too.
   */
  readonly accountKey: string;
  /** Factors proven so far; `["pwd"]` after a password. */
  readonly amr?: readonly string[];
}

export interface IssuedChallenge {
  /** Opaque; only its SHA-256 is stored. */
  readonly challengeToken: string;
  readonly methods: readonly MfaMethod[];
  /** Seconds the challenge lives. */
  readonly expiresIn: number;
}

export interface VerifiedChallenge {
  readonly userId: string;
  /** For the new session and its tokens: `["pwd","otp"]` or `["pwd","mfa"]`. */
  readonly amr: readonly string[];
  readonly method: MfaMethod;
}

/** How long an expired challenge is kept so that it is answered TOKEN_EXPIRED, not INVALID_TOKEN. */
const EXPIRED_CHALLENGE_RETENTION_MS = 3600_000;

export type MfaService = ReturnType<typeof createMfaService>;

/**
 * The second factor: TOTP enrolment, recovery codes and the login
 * challenge. Knows nothing of protobuf, HTTP, SQL or the TOTP library.
 *
 * Callers: AccountService (setup, confirm, disable, regenerate; the user is
 * already authenticated by the access token), AdminService (reset), and
 * Login/VerifyMfa (isEnabled, startChallenge, verifyChallenge).
 */
export function createMfaService(deps: MfaServiceDeps) {
  const { factors, challenges, accounts, sessions, passwords, totp, sealer, clock, events, policy } = deps;
  const guard = deps.loginGuard;

  /** Sensitive changes need the password again, through Login's guard (password-recheck.ts). */
  async function provePassword(userId: string, raw: string, meta: RequestMeta): Promise<MfaAccount> {
    const password = raw.normalize("NFKC");
    if (password.length === 0) throw validationError([{ field: "password", description: "is required" }]);
    const account = await accounts.findAccount(userId);
    if (!account) throw notFound("user");
    // An over-long password cannot be the right one; refuse it before bcrypt sees it.
    const ok =
      [...password].length <= PASSWORD_MAX_LENGTH &&
      (await recheckPassword(
        { passwords, guard },
        { key: account.email, passwordHash: account.passwordHash },
        password,
        meta.clientAddress,
      ));
    if (!ok) throw invalidCredentials("wrong password");
    return account;
  }

  const storedHash = (userId: string, code: string): string => {
    const normalized = normalizeRecoveryCode(code);
    const hash = normalized === null ? undefined : deps.recoveryCodes.hashes(userId, normalized)[0];
    if (hash === undefined) throw new Error("generated recovery code does not normalise");
    return hash;
  };

  /** The step a TOTP code may be accepted at (replay rule applied), or null. */
  function acceptedStep(factor: TotpFactor, code: string, at: Date): number | null {
    const secret = sealer.open(factor.secret, factor.userId);
    return acceptableStep(totp.matchingSteps(secret, code, at), factor.lastUsedStep);
  }

  /** Checks a challenge code; a success is recorded atomically, so each code works once. */
  async function acceptCode(userId: string, raw: string, at: Date): Promise<MfaMethod | null> {
    const totpCode = normalizeTotpCode(raw);
    const recovery = totpCode === null ? normalizeRecoveryCode(raw) : null;
    if (totpCode === null && recovery === null) return null;
    // Neither kind of code counts once the factor is gone.
    const factor = await factors.findFactor(userId);
    if (!factor?.confirmedAt) return null;
    if (totpCode !== null) {
      const step = acceptedStep(factor, totpCode, at);
      return step !== null && (await factors.useStep(userId, step)) ? "totp" : null;
    }
    if (recovery === null) return null;
    const used = await factors.useRecoveryCode(userId, deps.recoveryCodes.hashes(userId, recovery), at);
    return used ? "recovery_code" : null;
  }

  // A code is checked as any short opaque field (present, bounded, printable); its shape is the verifier's business.
  const requireCode = (code: string, violations: FieldViolation[]) => checkToken(code, "code", violations);

  return {
    /**
     * Starts (or restarts) enrolment: a new secret, stored encrypted and
     * unconfirmed. Login is unchanged until confirmTotp. FAILED_PRECONDITION
     * while a confirmed factor exists (disable it first).
     */
    async setupTotp(userId: string, password: string, meta: RequestMeta): Promise<TotpEnrolment> {
      const account = await provePassword(userId, password, meta);
      const existing = await factors.findFactor(userId);
      if (existing?.confirmedAt) throw failedPrecondition("a second factor is already enabled; disable it first");
      const secret = totp.newSecret();
      const saved = await factors.saveEnrolment(userId, sealer.seal(secret, userId), clock.now());
      if (!saved) throw failedPrecondition("a second factor is already enabled; disable it first");
      return { secret, otpauthUri: totp.uri(secret, account.email) };
    },

    /**
     * Turns the factor on with a current code of the new secret, and ends the
     * user's other sessions (they were opened without it). The code's step is
     * remembered, so it cannot also complete a login.
     */
    async confirmTotp(
      userId: string,
      code: string,
      opts: { readonly currentSessionId?: string; readonly meta?: RequestMeta } = {},
    ): Promise<TotpActivation> {
      const violations: FieldViolation[] = [];
      requireCode(code, violations);
      throwIfAny(violations);
      const factor = await factors.findFactor(userId);
      if (!factor || factor.confirmedAt) throw failedPrecondition("no second-factor enrolment to confirm");
      const now = clock.now();
      const totpCode = normalizeTotpCode(code);
      const step = totpCode === null ? null : acceptedStep(factor, totpCode, now);
      if (step === null) throw invalidCredentials("invalid code");
      const recoveryCodes = newRecoveryCodes();
      const confirmed = await factors.confirm({
        userId,
        ciphertext: factor.secret.ciphertext,
        step,
        recoveryCodeHashes: recoveryCodes.map((c) => storedHash(userId, c)),
        at: now,
      });
      // Lost to a concurrent confirmation with the same code, or to a new setup.
      if (!confirmed) throw invalidCredentials("invalid code");
      const revokedSessions = await sessions.revokeOthers(userId, opts.currentSessionId ?? null, now);
      events.emit({
        event: "mfa_enabled",
        outcome: "success",
        userId,
        sessionId: opts.currentSessionId,
        clientAddress: opts.meta?.clientAddress,
      });
      return { recoveryCodes, revokedSessions };
    },

    /** Turns the factor off and drops its recovery codes; revokes nothing else. */
    async disableTotp(userId: string, password: string, meta: RequestMeta): Promise<void> {
      await provePassword(userId, password, meta);
      const factor = await factors.findFactor(userId);
      if (!factor?.confirmedAt) throw failedPrecondition("no second factor is enabled");
      await factors.removeAll(userId);
      events.emit({ event: "mfa_disabled", outcome: "success", userId, clientAddress: meta.clientAddress });
    },

    /** Replaces every recovery code with 10 new ones, shown this once. */
    async regenerateRecoveryCodes(userId: string, password: string, meta: RequestMeta): Promise<readonly string[]> {
      await provePassword(userId, password, meta);
      const codes = newRecoveryCodes();
      const replaced = await factors.replaceRecoveryCodes(
        userId,
        codes.map((c) => storedHash(userId, c)),
        clock.now(),
      );
      if (!replaced) throw failedPrecondition("no second factor is enabled");
      events.emit({
        event: "recovery_codes_regenerated",
        outcome: "success",
        userId,
        clientAddress: meta.clientAddress,
      });
      return codes;
    },

    /**
     * Admin: removes the user's factor, pending enrolment, recovery codes and
     * open challenges (lost device). NOT_FOUND for an unknown user; a user
     * without a factor is left as is.
     */
    async resetUserMfa(userId: string, meta?: RequestMeta): Promise<{ readonly wasEnabled: boolean }> {
      if (!(await accounts.findAccount(userId))) throw notFound("user");
      const wasEnabled = await factors.removeAll(userId);
      events.emit({
        event: "mfa_reset",
        outcome: "success",
        userId,
        reason: wasEnabled ? undefined : "not_enabled",
        clientAddress: meta?.clientAddress,
      });
      return { wasEnabled };
    },

    /** Whether Login must answer with a challenge (User.mfa_enabled). */
    async isEnabled(userId: string): Promise<boolean> {
      return (await factors.findFactor(userId))?.confirmedAt != null;
    },

    /** isEnabled for many users in one query (ListUsers). */
    enabledAmong: (userIds: readonly string[]): Promise<ReadonlySet<string>> => factors.enabledAmong(userIds),

    /**
     * Opens a login challenge for a user whose password was just proven.
     * Call it only then, and only when isEnabled: before the password is
     * proven nothing may differ between accounts with and without a factor.
     */
    async startChallenge(userId: string, context: ChallengeContext): Promise<IssuedChallenge> {
      const now = clock.now();
      const challengeToken = newChallengeToken();
      const [unused] = await Promise.all([
        factors.countUnusedRecoveryCodes(userId),
        challenges.purgeExpired(new Date(+now - EXPIRED_CHALLENGE_RETENTION_MS)),
        challenges.create({
          tokenHash: hashChallengeToken(challengeToken),
          userId,
          accountKey: context.accountKey,
          amr: context.amr ?? [AMR_PASSWORD],
          expiresAt: new Date(+now + policy.challengeTtlSeconds * 1000),
          createdAt: now,
        }),
      ]);
      return {
        challengeToken,
        methods: unused > 0 ? ["totp", "recovery_code"] : ["totp"],
        expiresIn: policy.challengeTtlSeconds,
      };
    },

    /**
     * Completes a challenge with a TOTP code or a recovery code. Answers, in
     * this order: unknown or dead (5 wrong codes) → INVALID_TOKEN, before any
     * rate-limit check; expired → TOKEN_EXPIRED; the login guard's
     * RATE_LIMITED; a wrong, replayed or used code → INVALID_CREDENTIALS,
     * counted as a failed login of the account. A success consumes the
     * challenge. The caller still checks that the user is active, then opens
     * the session with the returned amr.
     */
    async verifyChallenge(rawToken: string, rawCode: string, meta: RequestMeta): Promise<VerifiedChallenge> {
      const violations: FieldViolation[] = [];
      const token = checkToken(rawToken, "challenge_token", violations);
      requireCode(rawCode, violations);
      throwIfAny(violations);
      if (!isChallengeTokenShaped(token)) throw invalidToken("challenge token");
      const tokenHash = hashChallengeToken(token);
      const now = clock.now();
      const challenge = await challenges.find(tokenHash);
      if (!challenge || challenge.failedAttempts >= MAX_CHALLENGE_ATTEMPTS) throw invalidToken("challenge token");
      if (+challenge.expiresAt <= +now) throw tokenExpired();
      const { userId, accountKey } = challenge;
      const { clientAddress } = meta;

      try {
        await guard?.check(accountKey, clientAddress);
      } catch (e) {
        events.emit({
          event: "mfa_challenge_failed",
          outcome: "blocked",
          userId,
          reason: "RATE_LIMITED",
          clientAddress,
        });
        throw e;
      }
      let claimed = false;
      let method: MfaMethod | null = null;
      try {
        // The attempt is counted before the code is checked, so parallel
        // guesses cannot get past the limit.
        claimed = await challenges.claimAttempt(tokenHash, MAX_CHALLENGE_ATTEMPTS, now);
        if (claimed) method = await acceptCode(userId, rawCode, now);
      } catch (e) {
        // No verdict on the code (database down): not held against the account.
        await guard?.released(accountKey).catch(() => undefined);
        throw e;
      }
      // Died or was used meanwhile, by parallel calls.
      if (!claimed) {
        await guard?.released(accountKey);
        throw invalidToken("challenge token");
      }
      if (method === null) {
        await guard?.failed(accountKey, clientAddress);
        events.emit({
          event: "mfa_challenge_failed",
          outcome: "failure",
          userId,
          reason: "INVALID_CREDENTIALS",
          clientAddress,
        });
        throw invalidCredentials("invalid code");
      }
      if (!(await challenges.consume(tokenHash))) {
        await guard?.released(accountKey);
        throw invalidToken("challenge token");
      }
      await guard?.succeeded(accountKey);
      return { userId, amr: [...challenge.amr, amrOfMethod(method)], method };
    },
  };
}
