/**
 * What the account lifecycle (account-service.ts) needs from the outside:
 * storage (src/db/account-repository.ts), mail composition (src/mail/) and
 * limits (src/rate-limit/). Plain types, no ORM or transport.
 */

import type { User, UserCredentials } from "./types.js";

/** The signed-in caller, from a verified access token. */
export interface AccountCaller {
  readonly userId: string;
  /** The session of the access token (its `sid` claim). */
  readonly sessionId: string;
}

export type OneTimePurpose = "reset" | "verify";

/** The template a message was made from; what metrics and logs name instead of the content. */
export type MailKind = "password_reset" | "email_verification";

/** A message ready for the outbox. The bodies hold the link, so they are never logged. */
export interface OutgoingMail {
  readonly kind: MailKind;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Renders the messages (src/mail/compose.ts); `token` goes into the configured link. */
export interface AccountMail {
  passwordReset(to: { readonly email: string }, token: string): OutgoingMail;
  emailVerification(to: { readonly email: string; readonly username: string }, token: string): OutgoingMail;
}

export interface NewOneTimeToken {
  /** SHA-256 of the token, base64url. The token itself is never stored. */
  readonly tokenHash: string;
  readonly purpose: OneTimePurpose;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

/** The silent per-account cap: at most `max` tokens of the purpose created after `since`. */
export interface MailAllowance {
  readonly max: number;
  readonly since: Date;
}

export interface OneTimeTokenRecord {
  readonly purpose: OneTimePurpose;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
  /** The user it was made for (tokens written for no user are never found). */
  readonly user: User;
}

export interface AccountSessionRecord {
  readonly id: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly expiresAt: Date;
  readonly clientAddress: string | null;
  readonly userAgent: string | null;
}

export interface PasswordReset {
  readonly tokenHash: string;
  readonly userId: string;
  readonly passwordHash: string;
  readonly at: Date;
}

export interface PasswordChange {
  readonly userId: string;
  readonly passwordHash: string;
  /** The caller's session, which stays open. */
  readonly keepSessionId: string;
  readonly at: Date;
}

export interface AccountRepository {
  /** The user with their password hash, for the calls that re-check the password. */
  findAccount(userId: string): Promise<UserCredentials | null>;

  /**
   * Writes a reset token and its message in one transaction, if an active
   * account has this (lower-cased) e-mail and is under its allowance.
   * Otherwise it still writes the token row, for no user (it can never be
   * redeemed), and no message: the same statements and a write either way,
   * so a known and an unknown address cost the same. Returns the user id
   * when the message was written.
   */
  queueForEmail(
    email: string,
    token: NewOneTimeToken,
    mail: OutgoingMail,
    allowance: MailAllowance,
  ): Promise<string | null>;

  /**
   * Writes a verification token and its message in one transaction, if the
   * account is active, not yet verified and under its allowance. True when it wrote.
   */
  queueForUser(userId: string, token: NewOneTimeToken, mail: OutgoingMail, allowance: MailAllowance): Promise<boolean>;

  findToken(tokenHash: string): Promise<OneTimeTokenRecord | null>;

  /**
   * In one transaction: uses the reset token (only if unused and unexpired
   * at `at`: the conditional update is the single-use gate), sets the
   * password and marks the e-mail verified, uses the user's other reset
   * tokens and revokes all their sessions. False when the token was no
   * longer usable (another call won).
   */
  redeemPasswordReset(reset: PasswordReset): Promise<boolean>;

  /** Uses the verification token (same gate) and marks the e-mail verified, in one transaction. */
  redeemEmailVerification(r: {
    readonly tokenHash: string;
    readonly userId: string;
    readonly at: Date;
  }): Promise<boolean>;

  /**
   * In one transaction: sets the password, revokes every other open session
   * and uses the user's unused reset tokens. Returns how many sessions it revoked.
   */
  changePassword(change: PasswordChange): Promise<number>;

  /** Open (not revoked, not expired at `at`) sessions, newest first. */
  listOpenSessions(userId: string, at: Date): Promise<AccountSessionRecord[]>;

  /** Revokes one open session of this user; false when there is none with that id. */
  revokeSession(userId: string, sessionId: string, at: Date): Promise<boolean>;

  /** Revokes every open session of the user except one; returns how many. */
  revokeOtherSessions(userId: string, keepSessionId: string, at: Date): Promise<number>;

  /** Deletes the user and every row of theirs (sessions, refresh and one-time tokens, mail) in one transaction. */
  deleteAccount(userId: string): Promise<boolean>;
}

/** The per-address limits of the calls around mailed links; each throws RATE_LIMITED. */
export interface MailRequestLimiter {
  /** Calls that send mail (RequestPasswordReset, SendVerificationEmail). */
  checkAddress(clientAddress: string): Promise<void>;
  /** Calls that redeem a mailed link's token (ResetPassword, VerifyEmail), counted apart. */
  checkRedemption(clientAddress: string): Promise<void>;
}

/** Tells the mail side that the outbox changed. */
export interface MailSignal {
  /** A message of this kind was committed to the outbox (counted). */
  queued(kind: MailKind): void;
  /** Wake the dispatcher now rather than at its next poll. */
  wake(): void;
}
