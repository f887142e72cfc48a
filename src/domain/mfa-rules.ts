import { createHash, randomBytes, randomInt } from "node:crypto";

/**
 * The rules of the second factor that need no storage and no library:
 * parameters, the replay rule, recovery-code and challenge-token formats.
 */

/** RFC 6238 parameters every authenticator app defaults to (SHA-1, 6 digits, 30 s). */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps of clock skew accepted either side of the current one (RFC 6238 §5.2 recommends at most one). */
export const TOTP_SKEW_STEPS = 1;

/** Wrong codes after which a login challenge is dead. */
export const MAX_CHALLENGE_ATTEMPTS = 5;

/** What a challenge offers, as MfaChallenge.methods spells it. */
export type MfaMethod = "totp" | "recovery_code";

/** RFC 8176 values: the factors a session was opened with. */
export const AMR_PASSWORD = "pwd";
export const AMR_OTP = "otp";
export const AMR_MULTI_FACTOR = "mfa";

/** What a recovery code adds to the challenge's amr (the wire contract: `["pwd","mfa"]`). */
export const amrOfMethod = (method: MfaMethod): string => (method === "totp" ? AMR_OTP : AMR_MULTI_FACTOR);

/** The time step (RFC 6238 T) at `at`. */
export const totpStep = (at: Date): number => Math.floor(+at / 1000 / TOTP_PERIOD_SECONDS);

/** A TOTP code as typed: six digits, spaces ignored (apps show "123 456"). Null when it is not one. */
export function normalizeTotpCode(input: string): string | null {
  const code = input.replace(/\s+/g, "");
  return /^\d{6}$/.test(code) ? code : null;
}

/**
 * The replay rule: a code is accepted at most once. Of the steps whose code
 * matched, the earliest one later than the last accepted step wins; none →
 * refused. Remembering one step per user is enough because steps only grow,
 * and a step at or before the last accepted one was already usable when
 * that one was accepted.
 */
export function acceptableStep(matchingSteps: readonly number[], lastUsedStep: number | null): number | null {
  let best: number | null = null;
  for (const step of matchingSteps) {
    if (lastUsedStep !== null && step <= lastUsedStep) continue;
    if (best === null || step < best) best = step;
  }
  return best;
}

/**
 * Recovery codes: 10 characters of Crockford's base32 (no i, l, o, u, so
 * nothing is misread), shown as `xxxxx-xxxxx`: 50 bits each. Only a keyed
 * hash is stored (see src/mfa/recovery-code-hasher.ts).
 */
export const RECOVERY_CODE_COUNT = 10;
const RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const RECOVERY_LENGTH = 10;
const RECOVERY_SHAPE = /^[0-9a-hjkmnp-tv-z]{10}$/;

/** One fresh recovery code, as shown to the user. */
export function newRecoveryCode(): string {
  let raw = "";
  for (let i = 0; i < RECOVERY_LENGTH; i++) raw += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  return `${raw.slice(0, 5)}-${raw.slice(5)}`;
}

export const newRecoveryCodes = (): string[] => Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);

/**
 * The canonical form a recovery code is hashed in: case-insensitive, dashes
 * and spaces optional, and the letters Crockford's base32 reads as digits
 * (i, l → 1; o → 0) forgiven. Null when it cannot be a recovery code.
 */
export function normalizeRecoveryCode(input: string): string | null {
  const code = input
    .toLowerCase()
    .replace(/[\s-]+/g, "")
    .replace(/[il]/g, "1")
    .replace(/o/g, "0");
  return RECOVERY_SHAPE.test(code) ? code : null;
}

/**
 * Challenge tokens are 256 random bits, base64url; only their SHA-256 is
 * stored, so the table alone cannot answer a challenge.
 */
const CHALLENGE_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export const newChallengeToken = (): string => randomBytes(32).toString("base64url");

export const isChallengeTokenShaped = (token: string): boolean => CHALLENGE_SHAPE.test(token);

export const hashChallengeToken = (token: string): string =>
  createHash("sha256").update(token, "utf8").digest("base64url");
