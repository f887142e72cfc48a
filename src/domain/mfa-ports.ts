/**
 * Interfaces the second-factor service needs; src/mfa (crypto, otpauth) and
 * src/db (storage) implement them.
 */

/** A TOTP secret encrypted at rest, with the id of the key that encrypted it. */
export interface SealedSecret {
  readonly ciphertext: string;
  readonly keyId: string;
}

/**
 * Authenticated encryption of secrets at rest under a key the database
 * does not hold. `context` (the user id) is bound to the ciphertext, so a
 * row copied onto another user does not open.
 */
export interface SecretSealer {
  seal(plaintext: string, context: string): SealedSecret;
  /** Throws when the key id is unknown or the ciphertext, key or context do not match. */
  open(sealed: SealedSecret, context: string): string;
}

/** RFC 6238 TOTP, SHA-1, 6 digits, 30 s: the library behind it is an adapter's business. */
export interface TotpAlgorithm {
  /** A fresh random secret, base32 (160 bits, the HMAC-SHA-1 key size RFC 4226 recommends). */
  newSecret(): string;
  /** The `otpauth://totp/...` URI authenticator apps scan, with the configured issuer. */
  uri(secret: string, accountName: string): string;
  /** The time steps within the skew window around `at` whose code is `code`. */
  matchingSteps(secret: string, code: string, at: Date): number[];
}

/**
 * Keyed hashing of recovery codes. `hashes` gives one digest per key that
 * may have made a stored one, the current key's first: new codes are stored
 * under the first, look-ups try them all, so the key can rotate.
 */
export interface RecoveryCodeHasher {
  hashes(userId: string, normalizedCode: string): readonly string[];
}

export interface TotpFactor {
  readonly userId: string;
  readonly secret: SealedSecret;
  /** Null while enrolment waits for its first code. */
  readonly confirmedAt: Date | null;
  /** The last time step whose code was accepted (replay rule). */
  readonly lastUsedStep: number | null;
  readonly createdAt: Date;
}

export interface Confirmation {
  readonly userId: string;
  /** The enrolment the code was checked against; a setup that replaced it meanwhile wins. */
  readonly ciphertext: string;
  readonly step: number;
  readonly recoveryCodeHashes: readonly string[];
  readonly at: Date;
}

/** The TOTP factor and recovery codes of each user. */
export interface MfaFactorRepository {
  findFactor(userId: string): Promise<TotpFactor | null>;
  /** Users among `userIds` with a confirmed factor (for lists of users). */
  enabledAmong(userIds: readonly string[]): Promise<ReadonlySet<string>>;
  /**
   * Stores a new, unconfirmed enrolment, replacing an unconfirmed one.
   * Returns false, changing nothing, when a confirmed factor exists.
   */
  saveEnrolment(userId: string, secret: SealedSecret, at: Date): Promise<boolean>;
  /**
   * Atomically: marks the enrolment confirmed with `step` as its last used
   * step and stores the recovery codes, only if that very enrolment is still
   * unconfirmed. Returns false when it is not.
   */
  confirm(confirmation: Confirmation): Promise<boolean>;
  /**
   * Records `step` as the last accepted one if it is later than the stored
   * one, atomically (the replay rule across replicas). False: a replay.
   */
  useStep(userId: string, step: number): Promise<boolean>;
  /** Replaces every recovery code of a user with a confirmed factor, atomically; false when there is none. */
  replaceRecoveryCodes(userId: string, hashes: readonly string[], at: Date): Promise<boolean>;
  /** Marks the unused code with one of these hashes used, atomically; false when none is. */
  useRecoveryCode(userId: string, hashes: readonly string[], at: Date): Promise<boolean>;
  countUnusedRecoveryCodes(userId: string): Promise<number>;
  /** Deletes the factor (confirmed or not), its recovery codes and open challenges. Returns whether one was confirmed. */
  removeAll(userId: string): Promise<boolean>;
}

export interface MfaChallenge {
  readonly tokenHash: string;
  readonly userId: string;
  /** The login's rate-limit key (the identifier the user typed); wrong codes count there. */
  readonly accountKey: string;
  /** Factors already proven when the challenge was made (`["pwd"]`). */
  readonly amr: readonly string[];
  readonly expiresAt: Date;
  readonly failedAttempts: number;
  readonly createdAt: Date;
}

export interface MfaChallengeRepository {
  create(challenge: Omit<MfaChallenge, "failedAttempts">): Promise<void>;
  find(tokenHash: string): Promise<MfaChallenge | null>;
  /**
   * Counts one attempt before its code is checked, atomically, only while
   * fewer than `max` were made and the challenge is unexpired at `now`:
   * parallel guesses cannot exceed the limit. False when refused.
   */
  claimAttempt(tokenHash: string, max: number, now: Date): Promise<boolean>;
  /** Deletes the challenge; true for the one call that did (single use). */
  consume(tokenHash: string): Promise<boolean>;
  /** Deletes challenges that expired before `before`. */
  purgeExpired(before: Date): Promise<void>;
}

/** The account data the service re-checks a password against. */
export interface MfaAccount {
  readonly email: string;
  readonly passwordHash: string;
}

export interface MfaAccounts {
  findAccount(userId: string): Promise<MfaAccount | null>;
}

export interface SessionRevoker {
  /** Revokes every open session of a user except `keepSessionId`; returns how many. */
  revokeOthers(userId: string, keepSessionId: string | null, at: Date): Promise<number>;
}
